from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from approvals.models import Gate
from releasemgr.history import AppendOnlyModel
from trains import workflow
from trains.choices import (
    FINAL_STATES,
    NOTIFICATION_BADGES,
    OPEN_STATES,
    STATE_BADGES,
    CriterionCheck,
    Delivery,
    EventKind,
    Health,
    NotificationKind,
    NotificationStatus,
    PhaseKind,
    ReminderKind,
    ReminderTarget,
    TrainState,
    TrainType,
)

S = TrainState
_NAME = "This cannot be empty."


class WindowMeets(models.Expression):
    """A train's window (its start and end days, both included) meets the days first..
    last: as `daterange(start, end, '[]') && daterange(first, last, '[]')` on
    PostgreSQL, which the GiST index `train_window` answers (migration 0020), and as two
    comparisons elsewhere. For a filter: `.filter(WindowMeets(first, last))`.

    The two comparisons alone go by one end: from the start days' index, a quarter's
    portfolio read every train that started before the quarter's end (15,334 of the
    bench's 20,200 to draw 197: 18–24 ms; 6–9 ms by the window's index)."""

    output_field = models.BooleanField()
    conditional = True

    def __init__(self, first, last):
        super().__init__()
        self.parts = [
            models.F("start_date"),
            models.F("end_date"),
            models.Value(first, output_field=models.DateField()),
            models.Value(last, output_field=models.DateField()),
        ]

    def get_source_expressions(self):
        return self.parts

    def set_source_expressions(self, exprs):
        self.parts = list(exprs)

    def _compiled(self, compiler) -> tuple[list[str], list]:
        sqls, params = [], []
        for part in self.parts:
            sql, part_params = compiler.compile(part)
            sqls.append(sql)
            params.append(part_params)
        return sqls, params

    def as_sql(self, compiler, connection):
        (start, end, first, last), (p_start, p_end, p_first, p_last) = self._compiled(compiler)
        return f"({start} <= {last} AND {end} >= {first})", [*p_start, *p_last, *p_end, *p_first]

    def as_postgresql(self, compiler, connection):
        (start, end, first, last), params = self._compiled(compiler)
        sql = f"daterange({start}, {end}, '[]') && daterange({first}, {last}, '[]')"
        return sql, [p for part in params for p in part]


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
    # The release manager's word on the train's health, over the computed one until
    # `health_override_until` (that day it lapses: trains.status reads it against today).
    health_override = models.CharField(max_length=10, choices=Health.choices, blank=True)
    health_override_reason = models.TextField(blank=True)
    health_override_until = models.DateField(null=True, blank=True)
    health_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    health_override_at = models.DateTimeField(null=True, blank=True)

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
            models.CheckConstraint(
                condition=~Q(name=""), name="train_has_a_name", violation_error_message=_NAME
            ),
            # An override says who set it, why and until when; no override, none of those.
            models.CheckConstraint(
                condition=Q(
                    health_override="",
                    health_override_until__isnull=True,
                    health_override_by__isnull=True,
                    health_override_at__isnull=True,
                    health_override_reason="",
                )
                | (
                    ~Q(health_override="")
                    & Q(
                        health_override_until__isnull=False,
                        health_override_by__isnull=False,
                        health_override_at__isnull=False,
                    )
                    & ~Q(health_override_reason="")
                ),
                name="train_health_override_complete",
                violation_error_message="A health override needs a reason and an expiry date.",
            ),
            # Closed and cancelled trains say when; open trains do not.
            models.CheckConstraint(
                condition=Q(state__in=["closed", "cancelled"], closed_at__isnull=False)
                | (~Q(state__in=["closed", "cancelled"]) & Q(closed_at__isnull=True)),
                name="train_closed_at_iff_final",
            ),
            # A gate's round is open exactly while the train waits at a gate.
            models.CheckConstraint(
                condition=Q(
                    state__in=["development_approval", "executive_approval"],
                    gate_opened_at__isnull=False,
                )
                | (
                    ~Q(state__in=["development_approval", "executive_approval"])
                    & Q(gate_opened_at__isnull=True)
                ),
                name="train_gate_opened_at_iff_at_gate",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "start_date"]),
            # The open trains' states, from the index alone: what the reminder scan joins
            # its due deadlines to.
            models.Index(fields=["state"], include=["id"], name="train_state_id"),
            # The trains list's order: its first page is read off the index's head
            # instead of sorting every visible train.
            models.Index(fields=["-start_date", "-id"], name="train_list_order"),
            # "Needs my action" looks at the trains ending soonest that one may act on:
            # read off this index in order, it stops at the first few instead of sorting
            # every visible train.
            models.Index(fields=["end_date", "id"], name="train_deadline_order"),
            # Not here: `train_window`, the windows as date ranges in a GiST index, which
            # PostgreSQL alone has (migration 0020, `WindowMeets`).
            # An open train's state by its id, from a small index: the reminder scan looks
            # up the train of each due deadline (10,000 at 1,000,000 phases: its SQL took
            # 37 ms through the primary key and the table, 16 ms here).
            models.Index(
                fields=["id"],
                include=["state"],
                condition=Q(state__in=OPEN_STATES),
                name="open_train_state",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def badge(self) -> str:
        return STATE_BADGES[self.state]

    @property
    def is_open(self) -> bool:
        return self.state not in FINAL_STATES

    # Each gate's round counter.
    ROUND_FIELDS = {Gate.DEVELOPMENT: "development_round", Gate.EXECUTIVE: "executive_round"}

    # A gate outside the train's life (a freeze exception) has one round.
    FIXED_ROUND = 1

    def round_for(self, gate: str) -> int:
        field = self.ROUND_FIELDS.get(gate)
        return getattr(self, field) if field else self.FIXED_ROUND

    # Transitions: sources, targets, conditions and who may take them come from the
    # state table (trains/workflow.py); history and notifications from trains/services,
    # the only caller. The bodies keep the gate rounds and the closing time.

    @transition(field=state, **workflow.fsm("start_construction"))
    def start_construction(self) -> None:
        pass

    @transition(field=state, **workflow.fsm("request_development_approval"))
    def request_development_approval(self) -> None:
        self.development_round += 1
        self.gate_opened_at = timezone.now()

    @transition(field=state, **workflow.fsm("approve_development"))
    def approve_development(self) -> None:
        self.gate_opened_at = None

    @transition(field=state, **workflow.fsm("reject_development"))
    def reject_development(self) -> None:
        self.gate_opened_at = None

    @transition(field=state, **workflow.fsm("request_executive_approval"))
    def request_executive_approval(self) -> None:
        self.executive_round += 1
        self.gate_opened_at = timezone.now()

    @transition(field=state, **workflow.fsm("approve_executive"))
    def approve_executive(self) -> None:
        self.gate_opened_at = None

    @transition(field=state, **workflow.fsm("reject_executive"))
    def reject_executive(self) -> None:
        self.gate_opened_at = None

    @transition(field=state, **workflow.fsm("deploy"))
    def deploy(self, *, succeeded: bool) -> str:
        if succeeded:
            self.closed_at = timezone.now()
            return S.CLOSED
        return S.DEPLOYMENT

    @transition(field=state, **workflow.fsm("cancel"))
    def cancel(self) -> None:
        self.gate_opened_at = None
        self.closed_at = timezone.now()


class ReleaseTrainUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(ReleaseTrain, on_delete=models.CASCADE)


class ReleaseTrainGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(ReleaseTrain, on_delete=models.CASCADE)


def train_open_field() -> models.BooleanField:
    """Whether the part's train is open, copied onto phases, milestones and exit criteria
    for the reminder scan's partial indexes (an index cannot read the train): cleared
    once, when the train closes or is cancelled (services.common.retire_parts); no train
    reopens. The scan still reads the train's state; the copy only keeps the closed
    history out of its indexes."""
    return models.BooleanField(default=True, editable=False)


class Phase(models.Model):
    train = models.ForeignKey(ReleaseTrain, on_delete=models.CASCADE, related_name="phases")
    kind = models.CharField(max_length=20, choices=PhaseKind.choices)
    position = models.PositiveSmallIntegerField()
    planned_end = models.DateField(null=True, blank=True)
    actual_start = models.DateTimeField(null=True, blank=True)
    actual_end = models.DateTimeField(null=True, blank=True)
    train_open = train_open_field()

    class Meta:
        ordering = ["train", "position"]
        constraints = [
            models.UniqueConstraint(fields=["train", "kind"], name="one_phase_per_kind"),
        ]
        indexes = [
            # The calendar reads a month of deadlines across all trains.
            models.Index(fields=["planned_end"], name="phase_planned_end"),
            # The reminder scan looks for open phases by planned end date, reading only
            # the index (an index-only scan: what it returns is in the index).
            models.Index(
                fields=["planned_end"],
                include=["id", "train", "kind"],
                condition=Q(actual_end__isnull=True, train_open=True),
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
    train_open = train_open_field()

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [
            # The calendar reads a month of milestones across all trains.
            models.Index(fields=["due_date"], name="milestone_due_date"),
            # The reminder scan looks for unreached milestones by due date (index only).
            models.Index(
                fields=["due_date"],
                include=["id", "train", "name"],
                condition=Q(reached_at__isnull=True, train_open=True),
                name="milestone_open_by_due_date",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(name=""), name="milestone_has_a_name", violation_error_message=_NAME
            ),
            models.CheckConstraint(
                condition=Q(reached_at__isnull=True, reached_by__isnull=True)
                | Q(reached_at__isnull=False, reached_by__isnull=False),
                name="milestone_reached_by_whom_and_when",
            ),
        ]

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
    train_open = train_open_field()

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
            models.CheckConstraint(
                condition=Q(met_at__isnull=True, met_by__isnull=True)
                | Q(met_at__isnull=False, met_by__isnull=False),
                name="criterion_met_by_whom_and_when",
            ),
            models.CheckConstraint(
                condition=~Q(description=""),
                name="criterion_has_a_description",
                violation_error_message=_NAME,
            ),
        ]
        indexes = [
            # The reminder scan looks for unticked criteria with a due date (index only).
            models.Index(
                fields=["due_date"],
                include=["id", "train", "phase", "description"],
                condition=Q(
                    met_at__isnull=True, due_date__isnull=False, rule="manual", train_open=True
                ),
                name="criterion_open_by_due_date",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def is_manual(self) -> bool:
        return self.rule == CriterionCheck.MANUAL


class Baseline(AppendOnlyModel):
    """The plan as it stood when it was taken (construction started, or on purpose): the
    window, each phase's end, the milestones and the releases on the train. A fact: a new
    plan is a new baseline; the old ones stay readable."""

    train = models.ForeignKey(ReleaseTrain, on_delete=models.PROTECT, related_name="baselines")
    number = models.PositiveIntegerField()
    taken_at = models.DateTimeField(default=timezone.now)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField()
    start_date = models.DateField()
    end_date = models.DateField()
    phases = models.JSONField(default=dict, help_text="Each phase's planned end: kind → date.")
    milestones = models.JSONField(default=list, help_text="[{id, name, due}]")
    releases = models.JSONField(default=list, help_text="[{id, name}]")

    class Meta:
        ordering = ["train", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["train", "number"], name="one_baseline_number"),
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="baseline_has_a_reason",
                violation_error_message="Give a reason to take a baseline.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.train} baseline {self.number}"


class Deployment(AppendOnlyModel):
    """One attempt to deploy a train to production. A fact: never changed."""

    train = models.ForeignKey(ReleaseTrain, on_delete=models.PROTECT, related_name="deployments")
    attempted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    attempted_at = models.DateTimeField(auto_now_add=True)
    succeeded = models.BooleanField()
    log = models.TextField(blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        constraints = [
            # A train closes on its first successful deployment; there is no second.
            models.UniqueConstraint(
                fields=["train"],
                condition=Q(succeeded=True),
                name="one_successful_deployment_per_train",
            ),
        ]

    def __str__(self) -> str:
        outcome = "succeeded" if self.succeeded else "failed"
        return f"Deployment of {self.train} {outcome}"


class TrainEvent(AppendOnlyModel):
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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["train", "-created_at"])]
        constraints = [
            # Cancelling and rejecting always say why.
            models.CheckConstraint(
                condition=~Q(transition__in=["cancel", "reject_development", "reject_executive"])
                | ~Q(message=""),
                name="event_refusal_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.train}: {self.message or self.get_kind_display()}"


class Reminder(AppendOnlyModel):
    """A deadline reminder that was due: one per (object, kind, day), written once.

    The unique constraint is what makes a reminder go out exactly once: the scan writes
    this row in the same transaction as the outbox rows, so a second scan, a second
    beat or a retried task fails to insert it and queues nothing.
    """

    train = models.ForeignKey(ReleaseTrain, on_delete=models.PROTECT, related_name="reminders")
    target = models.CharField(max_length=20, choices=ReminderTarget.choices)
    # Not a foreign key: exit criteria can be removed, and the reminder stays a fact.
    target_id = models.PositiveBigIntegerField()
    label = models.CharField(max_length=200, help_text="What was due, as it read that day.")
    phase = models.CharField(max_length=20, choices=PhaseKind.choices)
    kind = models.CharField(max_length=20, choices=ReminderKind.choices)
    due_date = models.DateField()
    day = models.DateField(help_text="The day this reminder is for.")
    created_at = models.DateTimeField(default=timezone.now)
    # Delivery state, not part of the fact: set once, when the dispatcher wrote an outbox
    # row for each person to tell (services.reminders_fan_out), the only change a reminder
    # ever gets.
    fanned_out_at = models.DateTimeField(
        null=True, blank=True, help_text="When its recipients' outbox rows were written."
    )

    class Meta:
        ordering = ["-day", "-id"]
        indexes = [
            # The dispatcher's to-do list: small, whatever the size of the history.
            models.Index(
                fields=["id"], condition=Q(fanned_out_at__isnull=True), name="reminder_to_fan_out"
            ),
        ]
        constraints = [
            # Target first: the scan asks of each deadline near today whether it had a
            # reminder since a day (selectors.due_items_query), one probe of this index.
            models.UniqueConstraint(
                fields=["target", "target_id", "day", "kind"], name="one_reminder_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.label} ({self.due_date})"

    @property
    def days_left(self) -> int:
        """Days from the reminder's day to the deadline; negative when overdue."""
        return (self.due_date - self.day).days


class MailDelivery(models.Model):
    """How far one e-mail got: the outbox's delivery fields."""

    status = models.CharField(
        max_length=20, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    retry_at = models.DateTimeField(
        null=True, blank=True, help_text="Not tried again before then (a passing failure)."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    address = models.EmailField(blank=True, help_text="Where it was sent.")
    subject = models.CharField(max_length=250, blank=True)
    body = models.TextField(blank=True, help_text="The plain-text part, as sent.")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def badge(self) -> str:
        return NOTIFICATION_BADGES[self.status]


class Digest(MailDelivery):
    """One person's daily digest: the notifications they chose to read once a day."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests"
    )
    day = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "day"], name="one_digest_per_day"),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(status="pending"), name="digest_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"Digest for {self.recipient} on {self.day}"


class Notification(MailDelivery):
    """Outbox: one person to tell about one event or reminder, and how that went.

    Rows are written in the transaction that made the event or the reminder; workers
    deliver them (at once, in the daily digest, or not at all, as the person chose).
    """

    # No index of their own for train, event and reminder: the indexes below start with
    # them (train and created_at; event or reminder and recipient), and every index
    # less makes the reminder scan's bulk insert cheaper.
    train = models.ForeignKey(
        ReleaseTrain, on_delete=models.PROTECT, related_name="notifications", db_index=False
    )
    event = models.ForeignKey(
        TrainEvent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        db_index=False,
    )
    reminder = models.ForeignKey(
        Reminder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        db_index=False,
    )
    kind = models.CharField(
        max_length=30, choices=NotificationKind.choices, default=NotificationKind.UPDATE
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    digest = models.ForeignKey(
        Digest, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "recipient"], name="one_notification_each"),
            models.UniqueConstraint(
                fields=["reminder", "recipient"], name="one_reminder_notification_each"
            ),
            models.CheckConstraint(
                condition=Q(event__isnull=False, reminder__isnull=True)
                | Q(event__isnull=True, reminder__isnull=False),
                name="notification_about_event_or_reminder",
                violation_error_message="A notification is about an event or a reminder.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending"),
                name="notification_pending",
            ),
            models.Index(
                fields=["recipient"],
                condition=Q(status="digest", digest__isnull=True),
                name="notification_for_digest",
            ),
            models.Index(fields=["train", "-created_at"], name="notification_train_recent"),
        ]

    def __str__(self) -> str:
        return f"To {self.recipient}: {self.event or self.reminder}"


class NotificationPreference(models.Model):
    """How one person wants to hear of one kind of notification (no row: the default)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    delivery = models.CharField(max_length=10, choices=Delivery.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_kind_display()} by {self.get_delivery_display()}"


class UndeliverableAddress(models.Model):
    """An address the mail server refused for good; nothing more is sent to it.

    Removing the row (the person's notification page, or the admin) tries it again.
    """

    email = models.EmailField(unique=True, help_text="Stored in lower case.")
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "undeliverable addresses"

    def __str__(self) -> str:
        return self.email


class DecisionLinkUse(AppendOnlyModel):
    """A signed approve/reject link from an approval-request mail that was used.

    The unique link id is what makes a link single use: two people (or two tabs) using
    the same link at once both try to insert this row in the transaction that records
    the decision; the database lets one in and the other is told the link was used.
    """

    link_id = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requirement = models.ForeignKey(
        "approvals.ApprovalRequirement", on_delete=models.PROTECT, related_name="+"
    )
    round = models.PositiveIntegerField()
    approve = models.BooleanField()
    used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-used_at", "-id"]

    def __str__(self) -> str:
        return f"Link {self.link_id} used by {self.user} on {self.used_at:%Y-%m-%d}"


class FreezeWindow(models.Model):
    """An organisation-wide freeze (blackout) window: no train deploys from `start` to
    `end` (both days included), save an emergency train with an approved freeze
    exception. Who may keep them: `trains.access.may_keep_freezes`."""

    name = models.CharField(max_length=120)
    start = models.DateField()
    end = models.DateField()
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")),
                name="freeze_ends_after_start",
                violation_error_message="A freeze window cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=~Q(name=""), name="freeze_has_a_name", violation_error_message=_NAME
            ),
        ]
        indexes = [models.Index(fields=["end", "start"], name="freeze_by_end")]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """How a refusal names it: "Year-end freeze (2026-12-20 to 2027-01-03)"."""
        return f"{self.name} ({self.start:%Y-%m-%d} to {self.end:%Y-%m-%d})"


class FreezeEvent(AppendOnlyModel):
    """The history of the freeze windows: who added, changed or removed which, and why.
    It names the window by id and words, so that it outlives a removed window."""

    window_id = models.PositiveBigIntegerField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    message = models.TextField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.message


# Templates and cadence (issue 14): their own module, part of this app's models.
from trains.template_models import (  # noqa: E402, F401
    Cadence,
    CadenceSchedule,
    ScheduledTrain,
    TemplateEvent,
    TrainTemplate,
)
