"""The page that moves an application release to another train."""

from __future__ import annotations

from django.db.models import QuerySet

from trains import access
from trains.models import ReleaseTrain
from trains.services import EDITABLE_RELEASE_STATES


def move_targets(*, train: ReleaseTrain, user) -> QuerySet[ReleaseTrain]:
    """The trains this person may move a release of `train` to: the others they manage
    that take releases now (scoping or construction), soonest first."""
    return (
        access.trains_for(user, access.MANAGE)
        .filter(state__in=EDITABLE_RELEASE_STATES)
        .exclude(pk=train.pk)
        .order_by("start_date", "name", "id")
    )
