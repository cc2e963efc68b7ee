"""Reads for the api app's pages, feeds and exports; each built once, no N+1."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet

from api.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from applications.models import ApplicationRelease, Turnover
from trains.access import MANAGE, MANAGE_PERM, VIEW, VIEW_PERM, trains_visible_to
from trains.models import Milestone, Phase, ReleaseTrain, ReleaseTrainUserObjectPermission


def calendar_trains(*, user: AbstractBaseUser) -> QuerySet[ReleaseTrain]:
    """Trains in a user's calendar feed, with their dated phases and milestones (3 queries)."""
    return trains_visible_to(user).prefetch_related(
        Prefetch(
            "phases",
            queryset=Phase.objects.filter(planned_end__isnull=False).order_by("position"),
        ),
        Prefetch("milestones", queryset=Milestone.objects.order_by("due_date", "id")),
    )


def export_trains(*, queryset: QuerySet[ReleaseTrain]) -> QuerySet[ReleaseTrain]:
    """The (filtered) trains list for CSV, with managers and phases (2 queries)."""
    return (
        queryset.select_related("primary_manager")
        .prefetch_related(Prefetch("phases", queryset=Phase.objects.order_by("position")))
        .order_by("start_date", "id")
    )


def export_releases(*, train: ReleaseTrain) -> QuerySet[ApplicationRelease]:
    """A train's releases for CSV with owners and turnovers, newest turnover first."""
    return (
        train.application_releases.select_related("application__product_owner")
        .prefetch_related(
            Prefetch("turnovers", queryset=Turnover.objects.order_by("-submitted_at", "-id"))
        )
        .order_by("application__name", "version")
    )


def subscriptions_for(*, user: AbstractBaseUser) -> QuerySet[WebhookSubscription]:
    subscriptions = WebhookSubscription.objects.select_related("train", "owner")
    return subscriptions if user.is_superuser else subscriptions.filter(owner=user)


def recent_deliveries(
    *, subscription: WebhookSubscription, limit: int = 50
) -> list[WebhookDelivery]:
    """The latest deliveries of a webhook with every attempt (2 queries)."""
    return list(
        subscription.deliveries.select_related("event__train")
        .prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))
        )
        .order_by("-created_at", "-id")[:limit]
    )


def grants_of(*, train: ReleaseTrain) -> list[dict]:
    """Who the train is shared with, each with `manage` or `view` (2 queries)."""
    rows = ReleaseTrainUserObjectPermission.objects.filter(
        content_object=train, permission__codename__in=[VIEW_PERM, MANAGE_PERM]
    ).values_list("user_id", "permission__codename")
    levels: dict[int, str] = {}
    for user_id, codename in rows:
        if codename == MANAGE_PERM or user_id not in levels:
            levels[user_id] = MANAGE if codename == MANAGE_PERM else VIEW
    users = get_user_model().objects.filter(pk__in=levels).order_by("username")
    return [{"user": user, "level": levels[user.pk]} for user in users]
