from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet

from approvals.models import ApprovalDecision, ApprovalRequirement


@dataclass(frozen=True)
class RequirementStatus:
    requirement: ApprovalRequirement
    approvals: int
    rejections: int

    @property
    def needed(self) -> int:
        return self.requirement.required_approvals

    @property
    def satisfied(self) -> bool:
        return self.approvals >= self.needed


def gate_status(*, train, gate: str, round: int) -> list[RequirementStatus]:  # noqa: A002
    """Each requirement of a gate with its approvals and rejections in one round (1 query)."""
    requirements = (
        ApprovalRequirement.objects.filter(train=train, gate=gate)
        .select_related("user", "group")
        .annotate(
            n_approvals=Count(
                "decisions__user",
                filter=Q(decisions__round=round, decisions__approve=True),
                distinct=True,
            ),
            n_rejections=Count(
                "decisions__user",
                filter=Q(decisions__round=round, decisions__approve=False),
                distinct=True,
            ),
        )
        .order_by("id")
    )
    return [RequirementStatus(r, r.n_approvals, r.n_rejections) for r in requirements]


def requirement_eligible(*, requirement: ApprovalRequirement, user: AbstractBaseUser) -> bool:
    """Whether this person is one of the approvers this requirement asks for."""
    if requirement.user_id is not None:
        return requirement.user_id == user.pk
    return user.groups.filter(pk=requirement.group_id).exists()


def requirements_for_user(*, user: AbstractBaseUser) -> QuerySet[ApprovalRequirement]:
    return ApprovalRequirement.objects.filter(Q(user=user) | Q(group__in=user.groups.all()))


def decisions_in_round(*, train, gate: str, round: int) -> QuerySet[ApprovalDecision]:  # noqa: A002
    return ApprovalDecision.objects.filter(
        requirement__train=train, requirement__gate=gate, round=round
    ).select_related("user", "requirement")
