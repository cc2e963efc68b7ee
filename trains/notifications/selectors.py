"""Reads for reminders and notifications: the scan's query, who hears of what, pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
)

from approvals.models import ApprovalRequirement
from releasemgr import roles
from trains import access
from trains.choices import (
    DEFAULT_DELIVERY,
    OPEN_STATES,
    PHASE_ORDER,
    STATE_PHASE,
    Delivery,
    NotificationKind,
    NotificationStatus,
    PhaseKind,
    ReminderKind,
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
from trains.notifications.rules import ESCALATION_GATE

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

    def days_left(self, today: date) -> int:
        return (self.due - today).days


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


def due_items(*, today: date, offsets: list[int], overdue_max_days: int) -> list[DueItem]:
    """Everything that needs a reminder today and has had none today: ONE query."""
    rows = due_items_query(today=today, offsets=offsets, overdue_max_days=overdue_max_days)
    return [
        DueItem(
            target=r["r_target"],
            target_id=r["r_id"],
            train_id=r["r_train"],
            train_state=r["r_state"],
            label=_label(r["r_target"], r["r_label"]),
            # a milestone belongs to no phase; it counts as the train's current one
            phase=str(r["r_phase"] or STATE_PHASE[r["r_state"]]),
            due=r["r_due"],
        )
        for r in rows
    ]


def due_items_query(*, today: date, offsets: list[int], overdue_max_days: int) -> QuerySet:
    """The scan's query: rows of r_target, r_id, r_train, r_state, r_label, r_phase, r_due.

    A UNION ALL of three range scans on partial indexes (open phases by planned end,
    unticked manual criteria by due date, unreached milestones by due date), each
    restricted to the dates that call for a reminder — exactly `offsets` days ahead, or
    passed within `overdue_max_days` — and joined to the train by primary key. Its cost
    follows the number of deadlines on those dates, not the number of trains.
    """
    dates = [today + timedelta(days=d) for d in offsets]
    overdue = (today - timedelta(days=overdue_max_days), today - timedelta(days=1))

    def when(field: str) -> Q:
        return Q(**{f"{field}__in": dates}) | Q(**{f"{field}__range": overdue})

    def not_reminded(target: str) -> Exists:
        # (target, target_id, day) is the leading part of the unique index.
        return Exists(Reminder.objects.filter(target=target, target_id=OuterRef("pk"), day=today))

    def row(target: str, label: str, phase, due: str) -> dict:
        # Every column an expression, so that the three SELECTs line up for the UNION.
        return {
            "r_target": Value(target, output_field=CharField()),
            "r_id": F("pk"),
            "r_train": F("train_id"),
            "r_state": F("train__state"),
            "r_label": F(label),
            "r_phase": phase,
            "r_due": F(due),
        }

    phases = (
        Phase.objects.filter(when("planned_end"), _current_phase(), actual_end__isnull=True)
        .exclude(not_reminded(ReminderTarget.PHASE))
        .order_by()
        .values(**row(ReminderTarget.PHASE, "kind", F("kind"), "planned_end"))
    )
    criteria = (
        ExitCriterion.objects.filter(
            when("due_date"),
            _phase_not_over(),
            met_at__isnull=True,
            due_date__isnull=False,
            rule="manual",
        )
        .exclude(not_reminded(ReminderTarget.CRITERION))
        .order_by()
        .values(**row(ReminderTarget.CRITERION, "description", F("phase"), "due_date"))
    )
    milestones = (
        Milestone.objects.filter(
            when("due_date"), reached_at__isnull=True, train__state__in=OPEN_STATES
        )
        .exclude(not_reminded(ReminderTarget.MILESTONE))
        .order_by()
        .values(
            **row(ReminderTarget.MILESTONE, "name", Value("", output_field=CharField()), "due_date")
        )
    )
    return phases.union(criteria, milestones, all=True)


def _label(target: str, label: str) -> str:
    if target == ReminderTarget.PHASE:
        return f"End of {PhaseKind(label).label.lower()}"
    return label


def reminder_kinds(*, item: DueItem, today: date, escalate_after: int) -> list[str]:
    """The reminders a due item calls for today."""
    left = item.days_left(today)
    if left > 0:
        return [ReminderKind.DUE_SOON]
    kinds = [ReminderKind.OVERDUE]
    if -left >= escalate_after:
        kinds.append(ReminderKind.ESCALATION)
    return kinds


# Who hears of a reminder --------------------------------------------------------------


def _managers(train: ReleaseTrain) -> QuerySet:
    """The train's release managers: its primary manager and those granted manage."""
    UserModel = get_user_model()
    granted = train.releasetrainuserobjectpermission_set.filter(
        permission__codename=access.MANAGE
    ).values("user_id")
    in_role = UserModel.groups.through.objects.filter(group__name=roles.RELEASE_MANAGERS)
    return UserModel.objects.filter(
        Q(pk=train.primary_manager_id) | Q(pk__in=granted) & Q(pk__in=in_role.values("user_id")),
        is_active=True,
    )


def _viewers_in_role(train: ReleaseTrain, role: str) -> QuerySet:
    return access.users_who_can_view(train).filter(
        pk__in=get_user_model().groups.through.objects.filter(group__name=role).values("user_id")
    )


def gate_approvers(train: ReleaseTrain, gate: str) -> QuerySet:
    """The people who approve one of the train's gates, named or through a group."""
    UserModel = get_user_model()
    requirements = ApprovalRequirement.objects.filter(train=train, gate=gate)
    in_group = UserModel.groups.through.objects.filter(
        group_id__in=requirements.filter(group__isnull=False).values("group_id")
    ).values("user_id")
    return UserModel.objects.filter(
        Q(pk__in=requirements.filter(user__isnull=False).values("user_id")) | Q(pk__in=in_group),
        is_active=True,
    )


def reminder_recipients(*, train: ReleaseTrain, target: str, phase: str, kind: str) -> set[int]:
    """Who is reminded: the people whose work the deadline waits for.

    The train's release managers always; for a construction deadline the product owners
    of its releases; for verification the QA people who see the train; for deployment its
    engineers. An escalation goes to the approvers of the gate that closes the phase.
    """
    if kind == ReminderKind.ESCALATION:
        return set(gate_approvers(train, ESCALATION_GATE[phase]).values_list("pk", flat=True))
    people = set(_managers(train).values_list("pk", flat=True))
    if target == ReminderTarget.MILESTONE:
        return people
    if phase == PhaseKind.CONSTRUCTION and target == ReminderTarget.PHASE:
        owners = train.application_releases.filter(application__product_owner__is_active=True)
        people.update(owners.values_list("application__product_owner", flat=True))
    elif phase == PhaseKind.VERIFICATION:
        people.update(_viewers_in_role(train, roles.QA).values_list("pk", flat=True))
    elif phase == PhaseKind.DEPLOYMENT and target == ReminderTarget.PHASE:
        engineers = train.release_engineers.filter(is_active=True)
        if not engineers.exists():
            engineers = _viewers_in_role(train, roles.RELEASE_ENGINEERS)
        people.update(engineers.values_list("pk", flat=True))
    return people


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
