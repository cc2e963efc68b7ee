"""Reads for the trains list."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from trains.access import trains_visible_to
from trains.models import ReleaseTrain
from trains.status import TrainStatus, for_status, statuses


def train_list(*, user: AbstractBaseUser) -> QuerySet[ReleaseTrain]:
    """The trains the user may see, newest first (to filter, count and page through;
    `list_rows` reads a page of them with their status)."""
    return trains_visible_to(user).select_related("primary_manager").order_by("-start_date", "-id")


@dataclass(frozen=True)
class ListRow:
    train: ReleaseTrain
    status: TrainStatus


def list_rows(trains: QuerySet[ReleaseTrain], page, *, user: AbstractBaseUser) -> list[ListRow]:
    """The trains of one page of `trains` (a Paginator's page), each with its status:
    one query, which reads every row's facts and the user's rights with it
    (`for_status`). The count and the filters work on the plain query."""
    if not page.paginator.count:
        return []
    rows = list(for_status(trains, user)[page.start_index() - 1 : page.end_index()])
    return [ListRow(t, s) for t, s in zip(rows, statuses(rows, user), strict=True)]
