"""Writes for approvals. Called by trains.services, which locks the train and checks
the gate; these functions only know about requirements and decisions."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import ValidationError

from approvals.models import ApprovalDecision, ApprovalRequirement
from releasemgr.exceptions import InvalidState


def requirement_create(
    *,
    train,
    gate: str,
    user: AbstractBaseUser | None = None,
    group: Group | None = None,
    required_approvals: int = 1,
) -> ApprovalRequirement:
    requirement = ApprovalRequirement(
        train=train, gate=gate, user=user, group=group, required_approvals=required_approvals
    )
    requirement.full_clean()
    if group is not None:
        members = group.user_set.filter(is_active=True).count()
        if required_approvals > members:
            raise ValidationError(
                {
                    "required_approvals": (
                        f"Group {group.name} has {members} active member(s); it cannot give "
                        f"{required_approvals} approvals."
                    )
                }
            )
    requirement.save()
    return requirement


def requirement_delete(*, requirement: ApprovalRequirement) -> None:
    if requirement.decisions.exists():
        raise InvalidState("This requirement already has decisions; it stays in the history.")
    requirement.delete()


def decision_create(
    *,
    requirement: ApprovalRequirement,
    round: int,
    user: AbstractBaseUser,
    approve: bool,
    comment: str,
    requested_at: datetime,
    snapshot: dict | None = None,
) -> ApprovalDecision:
    comment = comment.strip()
    if ApprovalDecision.objects.filter(requirement=requirement, round=round, user=user).exists():
        raise InvalidState("You have already decided on this requirement in this round.")
    if not approve and not comment:
        raise ValidationError({"comment": "A rejection needs a reason."})
    decision = ApprovalDecision(
        requirement=requirement,
        round=round,
        user=user,
        approve=approve,
        comment=comment,
        requested_at=requested_at,
        snapshot=snapshot or {},
    )
    decision.full_clean()
    decision.save()
    return decision
