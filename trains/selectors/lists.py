"""Reads for the trains list."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from trains.access import trains_visible_to
from trains.models import ReleaseTrain
from trains.status import TrainStatus, for_status, statuses


def train_list(*, user: AbstractBaseUser) -> QuerySet[ReleaseTrain]:
    """The trains the user may see, newest first, each with what its status is computed
    from (`trains.status.for_status`): a page of them is one query."""
    return for_status(trains_visible_to(user), user).order_by("-start_date", "-id")


@dataclass(frozen=True)
class ListRow:
    train: ReleaseTrain
    status: TrainStatus


def list_rows(trains, *, user: AbstractBaseUser) -> list[ListRow]:
    """A page of `train_list` with each train's status (no query)."""
    trains = list(trains)
    return [ListRow(t, s) for t, s in zip(trains, statuses(trains, user), strict=True)]
