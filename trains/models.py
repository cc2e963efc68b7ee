from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from trains import workflow
from trains.choices import (
    FINAL_STATES,
    OPEN_STATES,
    STATE_BADGES,
    CriterionCheck,
    EventKind,
    PhaseKind,
    TrainState,
    TrainType,
)

S = TrainState


class ReleaseTrain(FSMModelMixin, models.Model):
    name = models.CharField(max_length=120)
    purpose = models.TextField(blank=True)
    train_type = models.CharField("type", max_length=20, choices=TrainType.choices)
    primary_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="led_trains",
        verbose_name="primary release manager",
    )
    release_engineers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="engineered_trains",
        help_text="Who may deploy this train. Empty: any release engineer who can see it.",
    )
    start_date = models.DateField()
    end_date = models.DateField()
    state = FSMField(default=S.SCOPING, choices=TrainState.choices, protected=True)
    # Each entry into a gate opens a new round; decisions carry the round they belong to.
    development_round = models.PositiveIntegerField(default=0)
    executive_round = models.PositiveIntegerField(default=0)
    gate_opened_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start_date", "id"]
        permissions = [("manage_releasetrain", "Can manage release train")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="train_ends_after_start",
                violation_error_message="The train cannot end before it starts.",
            ),
            models.UniqueConstraint(
                Lower("name"),
                condition=~Q(state__in=["closed", "cancelled"]),
                name="unique_open_train_name",
                violation_error_message="An open train already has this name.",
            ),
        ]
        indexes = [models.Index(fields=["state", "start_date"])]

    def __str__(self) -> str:
        return self.name

    @property
    def badge(self) -> str:
        return STATE_BADGES[self.state]

    @property
    def is_open(self) -> bool:
        return self.state not in FINAL_STATES

    def round_for(self, gate: str) -> int:
        return self.development_round if gate == "development" else self.executive_round

    # Transitions. Conditions are in trains/workflow.py; permissions, history and
    # notifications in trains/services.py, the only caller.

    @transition(
        field=state,
        source=S.SCOPING,
        target=S.CONSTRUCTION,
        conditions=[workflow.scoping_exit_met],
    )
    def start_construction(self) -> None:
        pass

    @transition(
        field=state,
        source=S.CONSTRUCTION,
        target=S.DEVELOPMENT_APPROVAL,
        conditions=[workflow.construction_exit_met],
    )
    def request_development_approval(self) -> None:
        self.development_round += 1
        self.gate_opened_at = timezone.now()

    @transition(
        field=state,
        source=S.DEVELOPMENT_APPROVAL,
        target=S.VERIFICATION,
        conditions=[workflow.development_quorum_reached],
    )
    def approve_development(self) -> None:
        self.gate_opened_at = None

    @transition(field=state, source=S.DEVELOPMENT_APPROVAL, target=S.CONSTRUCTION)
    def reject_development(self) -> None:
        self.gate_opened_at = None

    @transition(
        field=state,
        source=S.VERIFICATION,
        target=S.EXECUTIVE_APPROVAL,
        conditions=[workflow.verification_exit_met],
    )
    def request_executive_approval(self) -> None:
        self.executive_round += 1
        self.gate_opened_at = timezone.now()

    @transition(
        field=state,
        source=S.EXECUTIVE_APPROVAL,
        target=S.DEPLOYMENT,
        conditions=[workflow.executive_quorum_reached],
    )
    def approve_executive(self) -> None:
        self.gate_opened_at = None

    @transition(field=state, source=S.EXECUTIVE_APPROVAL, target=S.VERIFICATION)
    def reject_executive(self) -> None:
        self.gate_opened_at = None

    @transition(
        field=state,
        source=S.DEPLOYMENT,
        target=RETURN_VALUE(S.DEPLOYMENT, S.CLOSED),
        conditions=[workflow.deployment_exit_met],
    )
    def deploy(self, *, succeeded: bool) -> str:
        if succeeded:
            self.closed_at = timezone.now()
            return S.CLOSED
        return S.DEPLOYMENT

    @transition(field=state, source=list(OPEN_STATES), target=S.CANCELLED)
    def cancel(self) -> None:
        self.gate_opened_at = None
        self.closed_at = timezone.now()


class ReleaseTrainUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(ReleaseTrain, on_delete=models.CASCADE)


class ReleaseTrainGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(ReleaseTrain, on_delete=models.CASCADE)


class Phase(models.Model):
    train = models.ForeignKey(ReleaseTrain, on_delete=models.CASCADE, related_name="phases")
    kind = models.CharField(max_length=20, choices=PhaseKind.choices)
    position = models.PositiveSmallIntegerField()
    planned_end = models.DateField(null=True, blank=True)
    actual_start = models.DateTimeField(null=True, blank=True)
    actual_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["train", "position"]
        constraints = [
            models.UniqueConstraint(fields=["train", "kind"], name="one_phase_per_kind"),
        ]
        indexes = [
            # The calendar reads a month of deadlines across all trains.
            models.Index(fields=["planned_end"], name="phase_planned_end"),
            # The reminder scan looks for open phases by planned end date.
            models.Index(
                fields=["planned_end"],
                condition=Q(actual_end__isnull=True),
                name="phase_open_by_planned_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.train} — {self.get_kind_display()}"


class Milestone(models.Model):
    train = models.ForeignKey(ReleaseTrain, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(max_length=120)
    due_date = models.DateField()
    reached_at = models.DateTimeField(null=True, blank=True)
    reached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["due_date"], name="milestone_due_date")]

    def __str__(self) -> str:
        return self.name


class ExitCriterion(models.Model):
    train = models.ForeignKey(ReleaseTrain, on_delete=models.CASCADE, related_name="criteria")
    phase = models.CharField(max_length=20, choices=PhaseKind.choices)
    description = models.CharField(max_length=200)
    required = models.BooleanField(default=True)
    rule = models.CharField(
        max_length=30,
        choices=CriterionCheck.choices,
        default=CriterionCheck.MANUAL,
        help_text="Ticked by hand, or computed from the train's data.",
    )
    due_date = models.DateField(null=True, blank=True)
    met_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    met_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["train", "id"]
        verbose_name_plural = "exit criteria"
        constraints = [
            models.UniqueConstraint(
                fields=["train", "rule"],
                condition=~Q(rule="manual"),
                name="one_automatic_criterion_per_check",
            ),
            models.CheckConstraint(
                condition=Q(rule="manual") | Q(met_at__isnull=True),
                name="automatic_criterion_not_ticked",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def is_manual(self) -> bool:
        return self.rule == CriterionCheck.MANUAL


class Deployment(models.Model):
    """One attempt to deploy a train to production."""

    train = models.ForeignKey(ReleaseTrain, on_delete=models.PROTECT, related_name="deployments")
    attempted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    attempted_at = models.DateTimeField(auto_now_add=True)
    succeeded = models.BooleanField()
    log = models.TextField(blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        outcome = "succeeded" if self.succeeded else "failed"
        return f"Deployment of {self.train} {outcome}"


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ANN003, ANN201
        raise TypeError("History rows are facts: they are never updated.")

    def delete(self):  # noqa: ANN201
        raise TypeError("History rows are facts: they are never deleted.")


class TrainEvent(models.Model):
    """The train's history: one row per fact, created and never changed."""

    train = models.ForeignKey(ReleaseTrain, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system acted (a gate's quorum reached, an automatic step).",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    from_state = models.CharField(max_length=30, blank=True)
    to_state = models.CharField(max_length=30, blank=True)
    transition = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["train", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.train}: {self.message or self.get_kind_display()}"

    def save(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        if not self._state.adding:
            raise TypeError("History rows are facts: they are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        raise TypeError("History rows are facts: they are never deleted.")


class Notification(models.Model):
    """Outbox: a person to tell about an event. The reminders issue delivers these."""

    event = models.ForeignKey(TrainEvent, on_delete=models.PROTECT, related_name="notifications")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "recipient"], name="one_notification_each"),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(sent_at__isnull=True), name="notification_unsent"
            ),
        ]

    def __str__(self) -> str:
        return f"To {self.recipient}: {self.event}"
