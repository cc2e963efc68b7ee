"""Writes for approvals. Called by trains.services, which locks the train and checks
the gate; these functions only know about requirements and decisions."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import ValidationError

from approvals.models import ApprovalDecision, ApprovalRequirement
from releasemgr.exceptions import InvalidState
from releasemgr.roles import group_label


def requirement_create(
    *,
    train,
    gate: str,
    user: AbstractBaseUser | None = None,
    group: Group | None = None,
    required_approvals: int = 1,
    barred: Collection[int] = (),
    barred_reason: str = "",
) -> ApprovalRequirement:
    """A requirement its approvers can meet (see `requirement_check`)."""
    requirement = ApprovalRequirement(
        train=train, gate=gate, user=user, group=group, required_approvals=required_approvals
    )
    requirement.full_clean()
    requirement_check(requirement, barred=barred, barred_reason=barred_reason)
    requirement.save()
    return requirement


def requirement_check(
    requirement: ApprovalRequirement, *, barred: Collection[int] = (), barred_reason: str = ""
) -> None:
    """Refuse a requirement that can never be met: one that names a person who may not
    decide it, or asks a group for more approvals than it has active members who may.

    `barred` are the ids of the people who may not decide at this requirement's gate
    though named, and `barred_reason` says why: the caller knows the train's rules.
    """
    if requirement.user_id is not None and requirement.user_id in barred:
        raise ValidationError({"user": f"{barred_reason} Choose someone else."})
    if requirement.group_id is not None:
        active = requirement.group.user_set.filter(is_active=True)
        members = active.exclude(pk__in=list(barred)).count()
        group = group_label(requirement.group.name)
        if requirement.required_approvals > members:
            message = (
                f"Group {group} has {members} active member(s); it cannot "
                f"give {requirement.required_approvals} approvals."
            )
            if barred and active.filter(pk__in=list(barred)).exists():
                message = (
                    f"Group {group} has {members} active member(s) who may "
                    f"decide here; it cannot give {requirement.required_approvals} approvals. "
                    f"{barred_reason}"
                )
            raise ValidationError({"required_approvals": message})


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
