"""Reads for reminders and notifications: the scan's query, who hears of what, pages."""

from __future__ import annotations

from collections.abc import Iterable
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

from applications.models import ApplicationRelease
from approvals.models import ApprovalRequirement
from releasemgr import roles
from releasemgr.db import id_list
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
    ReleaseTrainUserObjectPermission,
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

    A UNION ALL of three range scans on partial covering indexes (open phases by planned
    end, unticked manual criteria by due date, unreached milestones by due date; index-only
    scans), each over the window from `overdue_max_days` ago to the furthest offset and
    kept to the dates that call for a reminder — exactly `offsets` days ahead, or passed
    within `overdue_max_days` — and joined to the open trains' states (an index-only scan
    too). Today's reminders are left out by the unique index, which starts with the day.
    Its cost follows the number of deadlines on those dates and of open trains, not the
    size of the history.
    """
    dates = [today + timedelta(days=d) for d in offsets]
    window = (today - timedelta(days=overdue_max_days), max(dates))

    def when(field: str) -> Q:
        # one range for the index, then exactly the reminder days inside it
        return Q(**{f"{field}__range": window}) & (
            Q(**{f"{field}__in": dates}) | Q(**{f"{field}__lt": today})
        )

    def not_reminded(target: str) -> Exists:
        # (day, target, target_id) is the leading part of the unique index.
        return Exists(Reminder.objects.filter(day=today, target=target, target_id=OuterRef("pk")))

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
        Phase.objects.filter(
            when("planned_end"),
            _current_phase(),
            actual_end__isnull=True,
            train__state__in=OPEN_STATES,
        )
        .exclude(not_reminded(ReminderTarget.PHASE))
        .order_by()
        .values(**row(ReminderTarget.PHASE, "kind", F("kind"), "planned_end"))
    )
    criteria = (
        ExitCriterion.objects.filter(
            when("due_date"),
            _phase_not_over(),
            train__state__in=OPEN_STATES,
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

# What decides who hears of a reminder: (train id, target, phase, reminder kind).
RecipientKey = tuple[int, str, str, str]


def _pairs(queryset: QuerySet, train: str, user: str) -> QuerySet:
    return queryset.order_by().values_list(train, user)


def reminder_recipients(*, keys: Iterable[RecipientKey]) -> dict[RecipientKey, set[int]]:
    """Who is reminded, for many reminders at once, in at most six queries.

    The people whose work the deadline waits for: the train's release managers always
    (its primary manager, and those granted manage who are release managers); for a
    construction deadline the product owners of its releases; for verification the QA
    people who see the train; for deployment its engineers, or the release engineers who
    see it when none is assigned. An escalation goes to the approvers of the gate that
    closes the phase. Inactive people hear of nothing.
    """
    keys = set(keys)
    escalations = {(t, ESCALATION_GATE[p]) for t, _, p, k in keys if k == ReminderKind.ESCALATION}
    others = [key for key in keys if key[3] != ReminderKind.ESCALATION]
    phase_end, milestone = ReminderTarget.PHASE, ReminderTarget.MILESTONE
    managed = {t for t, _, _, _ in others}
    owned = {t for t, target, p, _ in others if target == phase_end and p == "construction"}
    tested = {t for t, target, p, _ in others if target != milestone and p == "verification"}
    deployed = {t for t, target, p, _ in others if target == phase_end and p == "deployment"}
    UserModel = get_user_model()
    active = {"user__is_active": True}

    by_role: dict[str, set[int]] = {}
    if managed or tested or deployed:
        for user_id, role in UserModel.groups.through.objects.filter(
            group__name__in=[roles.RELEASE_MANAGERS, roles.QA, roles.RELEASE_ENGINEERS], **active
        ).values_list("user_id", "group__name"):
            by_role.setdefault(role, set()).add(user_id)

    managers: dict[int, set[int]] = {}
    if managed:
        primary = _pairs(
            ReleaseTrain.objects.filter(pk__in=id_list(managed), primary_manager__is_active=True),
            "pk",
            "primary_manager_id",
        )
        granted = _pairs(
            ReleaseTrainUserObjectPermission.objects.filter(
                content_object_id__in=id_list(managed),
                permission__codename=access.MANAGE,
                user_id__in=id_list(by_role.get(roles.RELEASE_MANAGERS, ())),
                **active,
            ),
            "content_object_id",
            "user_id",
        )
        for train_id, user_id in primary.union(granted, all=True):
            managers.setdefault(train_id, set()).add(user_id)

    owners: dict[int, set[int]] = {}
    if owned:
        for train_id, user_id in _pairs(
            ApplicationRelease.objects.filter(
                train_id__in=id_list(owned), application__product_owner__is_active=True
            ),
            "train_id",
            "application__product_owner_id",
        ):
            owners.setdefault(train_id, set()).add(user_id)

    engineers: dict[int, set[int]] = {}
    if deployed:
        for train_id, user_id in _pairs(
            ReleaseTrain.release_engineers.through.objects.filter(
                releasetrain_id__in=id_list(deployed), **active
            ),
            "releasetrain_id",
            "user_id",
        ):
            engineers.setdefault(train_id, set()).add(user_id)

    viewers: dict[int, set[int]] = {}
    seen = tested | (deployed - set(engineers))
    if seen:
        among = by_role.get(roles.QA, set()) | by_role.get(roles.RELEASE_ENGINEERS, set())
        for train_id, user_id in access.viewer_pairs(seen, among=among):
            viewers.setdefault(train_id, set()).add(user_id)

    approvers: dict[tuple[int, str], set[int]] = {}
    if escalations:
        for pair, user_id in _gate_approver_rows(escalations):
            approvers.setdefault(pair, set()).add(user_id)

    recipients = {}
    for key in keys:
        train_id, target, phase, kind = key
        if kind == ReminderKind.ESCALATION:
            recipients[key] = set(approvers.get((train_id, ESCALATION_GATE[phase]), ()))
            continue
        people = set(managers.get(train_id, ()))
        if target == ReminderTarget.MILESTONE:
            pass
        elif phase == PhaseKind.CONSTRUCTION and target == ReminderTarget.PHASE:
            people |= owners.get(train_id, set())
        elif phase == PhaseKind.VERIFICATION:
            people |= viewers.get(train_id, set()) & by_role.get(roles.QA, set())
        elif phase == PhaseKind.DEPLOYMENT and target == ReminderTarget.PHASE:
            if train_id in engineers:
                people |= engineers[train_id]
            else:
                people |= viewers.get(train_id, set()) & by_role.get(roles.RELEASE_ENGINEERS, set())
        recipients[key] = people
    return recipients


def _gate_approver_rows(pairs: set[tuple[int, str]]) -> list[tuple[tuple[int, str], int]]:
    """((train id, gate), user id) of the active approvers, named or through a group."""
    requirements = ApprovalRequirement.objects.filter(
        train_id__in=id_list(t for t, _ in pairs), gate__in={g for _, g in pairs}
    ).order_by()
    named = requirements.filter(user__isnull=False, user__is_active=True).values_list(
        "train_id", "gate", "user_id"
    )
    grouped = requirements.filter(group__isnull=False, group__user__is_active=True).values_list(
        "train_id", "gate", "group__user"
    )
    return [
        ((train_id, gate), user_id)
        for train_id, gate, user_id in named.union(grouped, all=True)
        if (train_id, gate) in pairs
    ]


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
