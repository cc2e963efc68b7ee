"""Reads for the applications pages."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Prefetch,
    QuerySet,
)

from applications.models import Application, Turnover, TurnoverState
from releasemgr import roles
from trains.access import trains_visible_to


def applications_for(*, user: AbstractBaseUser) -> QuerySet[Application]:
    """Release managers and engineers see every application; product owners their own."""
    apps = Application.objects.select_related("product_owner").order_by("name")
    if (
        user.is_superuser
        or roles.has_role(user, roles.RELEASE_MANAGERS)
        or roles.has_role(user, roles.RELEASE_ENGINEERS)
    ):
        return apps
    return apps.filter(product_owner=user)


def application_releases(*, application: Application, user: AbstractBaseUser) -> list:
    """An application's releases, with their train only where the user may see it."""
    visible = set(trains_visible_to(user).values_list("pk", flat=True))
    releases = list(
        application.releases.select_related("train")
        .prefetch_related(
            Prefetch("turnovers", queryset=Turnover.objects.select_related("decided_by"))
        )
        .order_by("-created_at", "-id")
    )
    for release in releases:
        release.visible_train = release.train if release.train_id in visible else None
    return releases


def turnovers_waiting(*, user: AbstractBaseUser) -> QuerySet[Turnover]:
    return (
        Turnover.objects.filter(
            state=TurnoverState.SUBMITTED, release__train__in=trains_visible_to(user)
        )
        .select_related("release__application", "release__train", "submitted_by")
        .order_by("submitted_at", "id")
    )
