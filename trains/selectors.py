"""Reads for pages: querysets and plain data built for one page, queries done once."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from approvals.models import ApprovalDecision, ApprovalRequirement
from trains.access import trains_visible_to
from trains.choices import TrainState
from trains.models import ReleaseTrain


def pending_requirements(*, user: AbstractBaseUser) -> QuerySet[ApprovalRequirement]:
    """Requirements waiting for this user's decision in the current round of an open gate.

    Separation of duties: a train's primary release manager is not asked for its
    executive approval.
    """
    if not user.is_authenticated:
        return ApprovalRequirement.objects.none()
    decided_dev = ApprovalDecision.objects.filter(
        requirement=OuterRef("pk"), user=user, round=OuterRef("train__development_round")
    )
    decided_exe = ApprovalDecision.objects.filter(
        requirement=OuterRef("pk"), user=user, round=OuterRef("train__executive_round")
    )
    mine = Q(user=user) | Q(group__in=user.groups.all())
    return (
        ApprovalRequirement.objects.filter(mine)
        .filter(
            Q(gate="development", train__state=TrainState.DEVELOPMENT_APPROVAL)
            & ~Q(Exists(decided_dev))
            | Q(gate="executive", train__state=TrainState.EXECUTIVE_APPROVAL)
            & ~Q(Exists(decided_exe))
            & ~Q(train__primary_manager=user)
        )
        .filter(train__in=trains_visible_to(user))
        .order_by(F("train__gate_opened_at").asc(nulls_last=True), "train_id", "id")
    )


def inbox_count(*, user: AbstractBaseUser) -> int:
    return pending_requirements(user=user).values("train_id").distinct().count()


def visible_trains(*, user: AbstractBaseUser) -> QuerySet[ReleaseTrain]:
    return trains_visible_to(user)
