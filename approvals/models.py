from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q

from releasemgr.history import AppendOnlyModel
from releasemgr.people import name_of
from releasemgr.roles import group_label


class Gate(models.TextChoices):
    DEVELOPMENT = "development", "Development approval"
    EXECUTIVE = "executive", "Executive approval"
    # Not a step of the train's life: an executive lets an emergency train deploy inside
    # a freeze window (trains.freezes).
    FREEZE_EXCEPTION = "freeze_exception", "Freeze exception"


class ApprovalRequirement(models.Model):
    """N approvals needed at a gate from one user or from the members of a group.

    Set during scoping and locked after (the trains service enforces the lock).
    """

    train = models.ForeignKey(
        "trains.ReleaseTrain", on_delete=models.CASCADE, related_name="approval_requirements"
    )
    gate = models.CharField(max_length=20, choices=Gate.choices)
    # Indexed with the gate (Meta.indexes), which serves the look-ups by approver alone too.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    required_approvals = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["gate", "id"]
        # What waits for a person's decision is read a gate at a time
        # (trains.selectors.inbox): the requirements naming them, or one of their groups,
        # at that gate.
        indexes = [
            models.Index(fields=["user", "gate"], name="requirement_user_gate"),
            models.Index(fields=["group", "gate"], name="requirement_group_gate"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(group__isnull=True))
                | (Q(user__isnull=True) & Q(group__isnull=False)),
                name="requirement_user_xor_group",
                violation_error_message="Choose either one user or one group, not both.",
            ),
            models.CheckConstraint(
                condition=Q(required_approvals__gte=1),
                name="requirement_needs_at_least_one",
                violation_error_message="At least one approval is needed.",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=True) | Q(required_approvals=1),
                name="requirement_user_needs_one",
                violation_error_message="A single user can give only one approval.",
            ),
            models.UniqueConstraint(
                fields=["train", "gate", "user"],
                condition=Q(user__isnull=False),
                name="unique_requirement_user",
                violation_error_message="That user is already an approver at this gate.",
            ),
            models.UniqueConstraint(
                fields=["train", "gate", "group"],
                condition=Q(group__isnull=False),
                name="unique_requirement_group",
                violation_error_message="That group is already an approver at this gate.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_gate_display()}: {self.approver_label}"

    @property
    def approver_label(self) -> str:
        if self.user_id:
            return name_of(self.user)
        return group_approver_label(self.group.name, self.required_approvals)


def group_approver_label(group: str, needed: int) -> str:
    """How a group requirement reads: "2 of group Executives"."""
    return f"{needed} of group {group_label(group)}"


class ApprovalDecision(AppendOnlyModel):
    """One person's decision on one requirement in one round of a gate. Never edited.

    It keeps who decided, when, the reason, and what they saw: `snapshot` holds the
    round, the gate's approvals so far, the exit criteria and the application releases
    as they stood at that moment.
    """

    requirement = models.ForeignKey(
        ApprovalRequirement, on_delete=models.PROTECT, related_name="decisions"
    )
    round = models.PositiveIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approve = models.BooleanField()
    comment = models.TextField(blank=True)
    requested_at = models.DateTimeField(help_text="When the gate round opened.")
    decided_at = models.DateTimeField(auto_now_add=True)
    snapshot = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the approver saw when deciding: round, approvals, criteria, releases.",
    )

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["requirement", "round", "user"],
                name="one_decision_per_person_per_round",
                violation_error_message="You have already decided on this in this round.",
            ),
            models.CheckConstraint(
                condition=Q(approve=True) | ~Q(comment=""),
                name="rejection_has_reason",
                violation_error_message="A rejection needs a reason.",
            ),
            models.CheckConstraint(condition=Q(round__gte=1), name="decision_round_starts_at_one"),
        ]

    def __str__(self) -> str:
        verdict = "approved" if self.approve else "rejected"
        return f"{self.user} {verdict} ({self.requirement}, round {self.round})"
