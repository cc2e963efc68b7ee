"""Reads for reminders and notifications: the scan's query, who hears of what, pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from trains import access
from trains.choices import (
    DEFAULT_DELIVERY,
    OPEN_STATES,
    PHASE_ORDER,
    STATE_PHASE,
    CriterionCheck,
    Delivery,
    NotificationKind,
    NotificationStatus,
    PhaseKind,
    ReminderTarget,
)
from trains.models import (
    ExitCriterion,
    Milestone,
    Notification,
    NotificationPreference,
    Phase,
    ReleaseTrain,
    Reminder,
    UndeliverableAddress,
)
from trains.notifications.rules import OVERDUE_DAILY_DAYS, OVERDUE_EVERY_DAYS, reminded_since

# The reminder scan ------------------------------------------------------------------


@dataclass(frozen=True)
class DueItem:
    """A deadline that needs a reminder today: a phase end, a criterion or a milestone."""

    target: str
    target_id: int
    train_id: int
    train_state: str
    label: str
    phase: str
    due: date


def _states_in_phase(kind: str) -> list[str]:
    return [state for state, phase in STATE_PHASE.items() if phase == kind]


def _current_phase() -> Q:
    """A phase row that is the phase its train is in now."""
    return Q(
        *[Q(kind=kind, train__state__in=_states_in_phase(kind)) for kind in PhaseKind],
        _connector=Q.OR,
    )


def _phase_not_over() -> Q:
    """A criterion whose phase is the train's current phase or one still to come."""
    return Q(
        *[
            Q(train__state=state, phase__in=PHASE_ORDER[PHASE_ORDER.index(phase) :])
            for state, phase in STATE_PHASE.items()
        ],
        _connector=Q.OR,
    )


def due_items(*, today: date, offsets: list[int]) -> list[DueItem]:
    """Everything that needs a reminder today and has had none since it fell due: ONE query."""
    rows = due_items_query(today=today, offsets=offsets)
    return [
        DueItem(
            target=r["r_target"],
            target_id=r["r_id"],
            train_id=r["r_train"],
            train_state=r["r_state"],
            label=r["r_label"],
            phase=r["r_phase"],
            due=r["r_due"],
        )
        for r in rows
    ]


def due_items_query(*, today: date, offsets: list[int]) -> QuerySet:
    """The scan's query: rows of r_target, r_id, r_train, r_state, r_label, r_phase, r_due.

    A UNION ALL over phase ends, unticked manual criteria and unreached milestones, each in
    two parts: those from two weeks ago to the furthest offset ahead, and those overdue for
    longer; both range scans of a partial covering index by date, which holds the parts of
    open trains only (`train_open`). Both are joined to the open trains' states and kept to
    the deadlines that have had no reminder since the day rules.reminded_since names for
    their date (a probe of the reminders' unique index, which starts with the target): a
    CASE over the few dates near today, one day for all older ones. So a scan after days
    without workers finds what fell due in the gap, once, and the cost follows the open
    trains, not the closed history.
    """
    horizon = today + timedelta(days=max(offsets))
    # the dates whose day differs; from there on back it is the same (a week ago)
    weeks = OVERDUE_DAILY_DAYS + OVERDUE_EVERY_DAYS
    near = [today + timedelta(days=n) for n in range(1 - weeks, max(offsets) + 1)]
    long_overdue = reminded_since(due=today - timedelta(days=weeks), today=today, offsets=offsets)

    def since(field: str) -> Case:
        return Case(
            *[
                When(**{field: due}, then=Value(day))
                for due in near
                for day in [reminded_since(due=due, today=today, offsets=offsets)]
                if day is not None
            ],
            default=Value(long_overdue),
            output_field=DateField(),
        )

    def not_reminded(target: str) -> Exists:
        # (target, target_id, day) is the leading part of the unique index.
        return Exists(
            Reminder.objects.filter(
                target=target, target_id=OuterRef("pk"), day__gte=OuterRef("r_since")
            )
        )

    def row(target: str, label, phase, due: str) -> dict:
        # Every column an expression, so that the three SELECTs line up for the UNION.
        return {
            "r_target": Value(target, output_field=CharField()),
            "r_id": F("pk"),
            "r_train": F("train_id"),
            "r_state": F("train__state"),
            "r_label": label,
            "r_phase": phase,
            "r_due": F(due),
        }

    def parts(rows: QuerySet, target: str, field: str, columns: dict) -> list[QuerySet]:
        """The deadlines near today, in a window of a few weeks; and those overdue for
        longer (reminded weekly): two ranges of the date index of open trains' parts."""
        rows = rows.filter(train_open=True)  # the index's condition; the state decides
        near_rows = rows.filter(**{f"{field}__range": (near[0], horizon)}).annotate(
            r_since=since(field)
        )
        long_rows = rows.filter(**{f"{field}__lt": near[0]}).annotate(
            r_since=Value(long_overdue, output_field=DateField())
        )
        return [
            part.exclude(not_reminded(target)).order_by().values(**columns)
            for part in (near_rows, long_rows)
        ]

    phases = parts(
        Phase.objects.filter(
            _current_phase(), actual_end__isnull=True, train__state__in=OPEN_STATES
        ),
        ReminderTarget.PHASE,
        "planned_end",
        row(ReminderTarget.PHASE, _phase_end_label(), F("kind"), "planned_end"),
    )
    criteria = parts(
        ExitCriterion.objects.filter(
            _phase_not_over(),
            train__state__in=OPEN_STATES,
            met_at__isnull=True,
            due_date__isnull=False,
            rule=CriterionCheck.MANUAL,
        ),
        ReminderTarget.CRITERION,
        "due_date",
        row(ReminderTarget.CRITERION, F("description"), F("phase"), "due_date"),
    )
    milestones = parts(
        Milestone.objects.filter(reached_at__isnull=True, train__state__in=OPEN_STATES),
        ReminderTarget.MILESTONE,
        "due_date",
        # a milestone belongs to no phase; it counts as the train's current one
        row(ReminderTarget.MILESTONE, F("name"), _train_phase(), "due_date"),
    )
    first, *rest = phases + criteria + milestones
    return first.union(*rest, all=True)


def _phase_end_label() -> Case:
    """A phase's deadline in words, as a reminder names it: "End of scoping"."""
    return Case(
        *[When(kind=kind, then=Value(f"End of {kind.label.lower()}")) for kind in PhaseKind],
        output_field=CharField(),
    )


def _train_phase() -> Case:
    """The phase the train is in now (STATE_PHASE), as a column."""
    return Case(
        *[When(train__state=state, then=Value(str(phase))) for state, phase in STATE_PHASE.items()],
        default=Value(""),
        output_field=CharField(),
    )


# Preferences ---------------------------------------------------------------------------


def preferences_for(*, user: AbstractBaseUser) -> dict[str, str]:
    """How this person hears of each kind: their choice, or the default."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
    return {kind: chosen.get(kind, DEFAULT_DELIVERY[kind]) for kind in NotificationKind}


def delivery_for(*, user_id: int, kind: str) -> str:
    chosen = (
        NotificationPreference.objects.filter(user_id=user_id, kind=kind)
        .values_list("delivery", flat=True)
        .first()
    )
    return chosen or DEFAULT_DELIVERY.get(kind, Delivery.EMAIL)


def undeliverable(*, address: str) -> UndeliverableAddress | None:
    if not address:
        return None
    return UndeliverableAddress.objects.filter(email=address.lower()).first()


# Pages -------------------------------------------------------------------------------


def mail_log_trains(*, user: AbstractBaseUser) -> QuerySet[ReleaseTrain]:
    """The trains whose mail this person may read, with counts per outcome (1 query).

    Release managers: the trains they manage; staff: every train they can see.
    """
    trains = access.trains_visible_to(user) if user.is_staff else access.trains_managed_by(user)
    S = NotificationStatus
    return trains.annotate(
        n_sent=Count("notifications", filter=Q(notifications__status=S.SENT)),
        n_failed=Count("notifications", filter=Q(notifications__status=S.FAILED)),
        n_waiting=Count("notifications", filter=Q(notifications__status__in=[S.PENDING, S.DIGEST])),
        n_skipped=Count("notifications", filter=Q(notifications__status=S.SKIPPED)),
        last_at=Max("notifications__created_at"),
    ).order_by(F("last_at").desc(nulls_last=True), "name")


def train_mail_log(*, train: ReleaseTrain, status: str = "") -> QuerySet[Notification]:
    """One train's outbox, newest first, with what each row is about (1 query a page)."""
    rows = Notification.objects.filter(train=train).select_related(
        "recipient", "event", "reminder", "digest"
    )
    if status == "waiting":
        rows = rows.filter(status__in=[NotificationStatus.PENDING, NotificationStatus.DIGEST])
    elif status:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-id")


def train_mail_counts(*, train: ReleaseTrain) -> dict[str, int]:
    counts = dict(
        Notification.objects.filter(train=train)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in NotificationStatus}
