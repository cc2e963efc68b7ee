"""Reads for pages: querysets and plain data built for one page, queries done once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from applications.models import Application, ApplicationRelease, Turnover
from approvals.models import ApprovalDecision, ApprovalRequirement, Gate
from releasemgr import roles
from trains import workflow
from trains.access import can_manage, trains_visible_to
from trains.choices import PHASE_WORK_STATE, STATE_PHASE, EventKind, PhaseKind, TrainState
from trains.models import (
    Deployment,
    ExitCriterion,
    Milestone,
    Phase,
    ReleaseTrain,
    ReleaseTrainUserObjectPermission,
    TrainEvent,
)

GATE_STATES = {
    Gate.DEVELOPMENT: TrainState.DEVELOPMENT_APPROVAL,
    Gate.EXECUTIVE: TrainState.EXECUTIVE_APPROVAL,
}


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
        # No visibility filter needed: the approvers of a train may always see it.
        .order_by(F("train__gate_opened_at").asc(nulls_last=True), "train_id", "id")
    )


def inbox_count(*, user: AbstractBaseUser) -> int:
    return pending_requirements(user=user).values("train_id").distinct().count()


def visible_trains(*, user: AbstractBaseUser) -> QuerySet[ReleaseTrain]:
    return trains_visible_to(user)


# The dashboard -------------------------------------------------------------------------

HISTORY_PAGE = 50


@dataclass
class CriterionRow:
    criterion: ExitCriterion
    met: bool
    detail: str
    can_toggle: bool
    toggle_note: str
    can_remove: bool = False
    check_url: str = ""
    remove_url: str = ""
    met_line: str = ""


@dataclass
class TurnoverRow:
    label: str
    badge: str
    description: str
    reason: str


@dataclass
class ReleaseRow:
    """An application release as the dashboard shows it: display values computed once."""

    pk: int
    app_name: str
    version: str
    owner: str
    state: str
    state_label: str
    badge: str
    turnovers: list[TurnoverRow]
    remove_url: str = ""

    def __str__(self) -> str:
        return f"{self.app_name} {self.version}"


@dataclass
class EventRow:
    pk: int
    when: str
    iso: str
    who: str
    text: str


@dataclass
class PhaseRow:
    phase: Phase
    status: str  # "done", "current" or "future"
    overdue: bool
    x: int  # position and width on the timeline, in thousandths of the train's window
    width: int
    criteria: list[CriterionRow]

    @property
    def unmet_required(self) -> int:
        return sum(1 for c in self.criteria if c.criterion.required and not c.met)


@dataclass
class RequirementRow:
    requirement: ApprovalRequirement
    approvals: int
    decisions: list[ApprovalDecision]
    can_decide: bool
    decide_note: str

    @property
    def needed(self) -> int:
        return self.requirement.required_approvals

    @property
    def satisfied(self) -> bool:
        return self.approvals >= self.needed


@dataclass
class GateRow:
    gate: str
    label: str
    round: int
    is_open: bool
    requirements: list[RequirementRow]
    past_decisions: list[ApprovalDecision]


@dataclass
class Action:
    name: str
    label: str
    style: str
    enabled: bool
    reasons: list[str]
    summary: str
    needs_reason: bool = False


@dataclass
class Dashboard:
    train: ReleaseTrain
    today: date
    today_x: int | None
    phases: list[PhaseRow]
    current_phase: str | None
    releases: list[ReleaseRow]
    gates: list[GateRow]
    deployments: list[Deployment]
    milestones: list[Milestone]
    events: list[EventRow]
    more_events: bool
    engineers: list
    viewers: list
    actions: list[Action]
    can_manage: bool
    can_deploy: bool
    release_candidates: list[ApplicationRelease] = field(default_factory=list)

    @property
    def deploy_action(self) -> Action | None:
        return next((a for a in self.actions if a.name == "deploy"), None)

    @property
    def step_actions(self) -> list[Action]:
        return [a for a in self.actions if a.name != "deploy"]

    @property
    def releases_editable(self) -> bool:
        return self.can_manage and self.train.state in (TrainState.SCOPING, TrainState.CONSTRUCTION)

    @property
    def releases_complete(self) -> int:
        return sum(r.state == "development_complete" for r in self.releases)


def _position(day: date | None, start: date, span: int) -> int | None:
    if day is None:
        return None
    return max(0, min(1000, round((day - start).days / span * 1000)))


def train_dashboard(*, train: ReleaseTrain, user) -> Dashboard:
    """Everything the train's page shows, in a fixed number of queries."""
    today = timezone.localdate()
    manage = can_manage(user, train)
    group_ids = set(user.groups.values_list("id", flat=True))
    user_roles = roles.user_roles(user)

    phases = list(train.phases.all())
    criteria = list(train.criteria.select_related("met_by").order_by("id"))
    requirements = list(
        ApprovalRequirement.objects.filter(train=train).select_related("user", "group")
    )
    decisions = list(
        ApprovalDecision.objects.filter(requirement__train=train)
        .select_related("user")
        .order_by("decided_at", "id")
    )
    releases = _release_rows(train)
    engineers = list(train.release_engineers.all())
    facts = workflow.facts_from(
        phases=phases,
        requirements=requirements,
        release_states=[r.state for r in releases],
        releases_without_accepted=sum(
            not any(t.label == "Accepted" for t in r.turnovers) for r in releases
        ),
    )

    # Phases on the timeline, with their criteria.
    span = max((train.end_date - train.start_date).days, 1)
    current = STATE_PHASE.get(train.state)
    work_state = train.state if train.state in PHASE_WORK_STATE.values() else None
    phase_rows, previous_end = [], train.start_date
    for phase in phases:
        if phase.actual_end or (current is None and train.state == TrainState.CLOSED):
            status = "done"
        elif phase.kind == current:
            status = "current"
        else:
            status = "future"
        end = phase.planned_end or previous_end
        rows = []
        for criterion in (c for c in criteria if c.phase == phase.kind):
            met, detail = workflow.criterion_status(criterion, facts)
            can_toggle, note = False, ""
            if criterion.is_manual and train.is_open:
                allowed = manage or (
                    phase.kind == PhaseKind.VERIFICATION
                    and (user.is_superuser or roles.QA in user_roles)
                )
                if allowed and work_state == PHASE_WORK_STATE[phase.kind]:
                    can_toggle = True
                elif allowed:
                    note = (
                        f"Can be ticked during "
                        f"{TrainState(PHASE_WORK_STATE[phase.kind]).label.lower()}"
                    )
            base = f"/trains/{train.pk}/criteria/{criterion.pk}/"
            met_line = ""
            if criterion.met_by_id:
                met_line = f"Checked by {criterion.met_by.username} on {_when(criterion.met_at)}"
            rows.append(
                CriterionRow(
                    criterion,
                    met,
                    "" if met else detail,
                    can_toggle,
                    note,
                    can_remove=manage and criterion.is_manual and train.is_open and not met,
                    check_url=base + "check/",
                    remove_url=base + "remove/",
                    met_line=met_line,
                )
            )
        start_x = _position(previous_end, train.start_date, span)
        end_x = _position(end, train.start_date, span)
        phase_rows.append(
            PhaseRow(
                phase=phase,
                status=status,
                overdue=bool(
                    phase.planned_end
                    and phase.planned_end < today
                    and not phase.actual_end
                    and train.is_open
                ),
                x=start_x,
                width=max(end_x - start_x, 8),
                criteria=rows,
            )
        )
        previous_end = end

    # Gates: requirements with this round's decisions; earlier rounds kept apart.
    gates = []
    for gate in Gate:
        rnd = train.round_for(gate)
        is_open = train.state == GATE_STATES[gate]
        req_rows = []
        for requirement in (r for r in requirements if r.gate == gate):
            this_round = [
                d for d in decisions if d.requirement_id == requirement.pk and d.round == rnd
            ]
            eligible = (
                requirement.user_id == user.pk
                if requirement.user_id
                else requirement.group_id in group_ids
            )
            decided = any(d.user_id == user.pk for d in this_round)
            can_decide, note = False, ""
            if is_open and eligible and not decided:
                if gate == Gate.EXECUTIVE and train.primary_manager_id == user.pk:
                    note = "As the train's primary release manager you may not approve it."
                else:
                    can_decide = True
            elif is_open and eligible and decided:
                note = "You have decided in this round."
            req_rows.append(
                RequirementRow(
                    requirement=requirement,
                    approvals=len({d.user_id for d in this_round if d.approve}),
                    decisions=this_round,
                    can_decide=can_decide,
                    decide_note=note,
                )
            )
        gate_reqs = {r.pk for r in requirements if r.gate == gate}
        past = [d for d in decisions if d.requirement_id in gate_reqs and d.round != rnd]
        gates.append(GateRow(gate, Gate(gate).label, rnd, is_open, req_rows, past))

    # What this person may do, and why not yet.
    deploy_allowed = manage or (
        (user.is_superuser or roles.RELEASE_ENGINEERS in user_roles)
        and (not engineers or any(e.pk == user.pk for e in engineers))
    )
    actions = []
    for name in (*workflow.MANUAL_STEPS[:-1], "deploy", "cancel"):
        step = workflow.STEPS[name]
        allowed = deploy_allowed if name == "deploy" else manage
        if not allowed or not getattr(ReleaseTrain, name)._django_fsm.has_transition(train.state):
            continue
        phase = {
            "start_construction": PhaseKind.SCOPING,
            "request_development_approval": PhaseKind.CONSTRUCTION,
            "request_executive_approval": PhaseKind.VERIFICATION,
            "deploy": PhaseKind.DEPLOYMENT,
        }.get(name)
        reasons = (
            workflow.exit_criteria_unmet(train, phase, criteria=criteria, facts=facts)
            if phase
            else []
        )
        summary = ""
        if reasons:
            n = len(reasons)
            summary = (
                f"{n} {PhaseKind(phase).label.lower()} exit criteri{'on' if n == 1 else 'a'} unmet"
            )
        actions.append(
            Action(name, step.label, step.style, not reasons, reasons, summary, step.needs_reason)
        )

    events = _event_rows(train.events.all()[: HISTORY_PAGE + 1])
    viewers = (
        list(
            get_user_model()
            .objects.filter(
                pk__in=ReleaseTrainUserObjectPermission.objects.filter(
                    content_object=train, permission__codename="view_releasetrain"
                ).values("user_id")
            )
            .order_by("username")
        )
        if manage
        else []
    )
    candidates = []
    if manage and train.state in (TrainState.SCOPING, TrainState.CONSTRUCTION):
        candidates = list(
            ApplicationRelease.objects.filter(train__isnull=True)
            .select_related("application")
            .order_by("application__name", "version")[:200]
        )
    return Dashboard(
        train=train,
        today=today,
        today_x=(
            _position(today, train.start_date, span)
            if train.start_date <= today <= train.end_date
            else None
        ),
        phases=phase_rows,
        current_phase=current,
        releases=releases,
        gates=gates,
        deployments=list(train.deployments.select_related("attempted_by")),
        milestones=list(train.milestones.all()),
        events=events[:HISTORY_PAGE],
        more_events=len(events) > HISTORY_PAGE,
        engineers=engineers,
        viewers=viewers,
        actions=actions,
        can_manage=manage,
        can_deploy=deploy_allowed,
        release_candidates=candidates,
    )


def history_page(*, train: ReleaseTrain, before_id: int) -> tuple[list[TrainEvent], bool]:
    """Older history, HISTORY_PAGE rows at a time, for 'show more'."""
    events = _event_rows(train.events.filter(id__lt=before_id)[: HISTORY_PAGE + 1])
    return events[:HISTORY_PAGE], len(events) > HISTORY_PAGE


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _person(first: str, last: str, username: str) -> str:
    full = f"{first} {last}".strip()
    return full or username


def _release_rows(train: ReleaseTrain) -> list[ReleaseRow]:
    """The train's releases and turnovers as plain rows (2 queries, no model objects)."""
    from applications.models import RELEASE_BADGES, TURNOVER_BADGES, ReleaseState, TurnoverState

    turnovers: dict[int, list[TurnoverRow]] = {}
    for t in (
        Turnover.objects.filter(release__train=train)
        .order_by("submitted_at", "id")
        .values_list("release_id", "state", "description", "rejection_reason")
    ):
        turnovers.setdefault(t[0], []).append(
            TurnoverRow(TurnoverState(t[1]).label, TURNOVER_BADGES[t[1]], t[2], t[3])
        )
    rows = []
    for pk, version, state, app, first, last, username in train.application_releases.order_by(
        "application__name", "version"
    ).values_list(
        "id",
        "version",
        "state",
        "application__name",
        "application__product_owner__first_name",
        "application__product_owner__last_name",
        "application__product_owner__username",
    ):
        rows.append(
            ReleaseRow(
                pk=pk,
                app_name=app,
                version=version,
                owner=_person(first, last, username),
                state=state,
                state_label=ReleaseState(state).label,
                badge=RELEASE_BADGES[state],
                turnovers=turnovers.get(pk, []),
                remove_url=f"/trains/{train.pk}/releases/{pk}/remove/",
            )
        )
    return rows


def _event_rows(events) -> list[EventRow]:
    rows = []
    for pk, kind, at, source, target, message, actor in events.values_list(
        "id", "kind", "created_at", "from_state", "to_state", "message", "actor__username"
    ):
        if kind == "transition":
            text = f"{source} → {target}" + (f": {message}" if message else "")
        else:
            text = message or EventKind(kind).label
        rows.append(EventRow(pk, _when(at), at.isoformat(), actor or "system", text))
    return rows


# The trains list -------------------------------------------------------------------------


def _count(queryset) -> Subquery:
    """A correlated COUNT(*) subquery: cheaper than annotate(Count) over a join when
    the page shows 25 of many thousand trains."""
    return Coalesce(
        Subquery(
            queryset.order_by()
            .values("train_id")
            .annotate(n=Func("id", function="COUNT"))
            .values("n")
        ),
        0,
    )


def train_list(*, user: AbstractBaseUser) -> QuerySet[ReleaseTrain]:
    """Visible trains with what the list shows: current phase deadline and progress."""
    return with_progress(trains_visible_to(user))


def with_progress(trains: QuerySet[ReleaseTrain]) -> QuerySet[ReleaseTrain]:
    """Annotate the current phase's deadline and application release progress."""
    current_kind = Case(
        *[When(state=state, then=Value(str(kind))) for state, kind in STATE_PHASE.items()],
        default=Value(""),
        output_field=CharField(),
    )
    releases = ApplicationRelease.objects.filter(train=OuterRef("pk"))
    return (
        trains.select_related("primary_manager")
        .annotate(current_kind=current_kind)
        .annotate(
            deadline=Subquery(
                Phase.objects.filter(train=OuterRef("pk"), kind=OuterRef("current_kind")).values(
                    "planned_end"
                )[:1]
            ),
            releases_total=_count(releases),
            releases_done=_count(releases.filter(state="development_complete")),
        )
        .order_by("-start_date", "-id")
    )


# The approval inbox -----------------------------------------------------------------------


@dataclass
class InboxItem:
    train: ReleaseTrain
    gate: str
    gate_label: str
    round: int
    requirements: list[ApprovalRequirement]
    criteria_met: int
    criteria_total: int


def inbox(*, user: AbstractBaseUser) -> list[InboxItem]:
    """Trains waiting for this person's decision, oldest request first (4 queries)."""
    pending = list(pending_requirements(user=user).select_related("user", "group"))
    train_ids = list(dict.fromkeys(r.train_id for r in pending))
    trains = {t.pk: t for t in with_progress(ReleaseTrain.objects.filter(pk__in=train_ids))}
    counts = {
        row["train_id"]: row
        for row in ExitCriterion.objects.filter(train_id__in=train_ids, required=True)
        .values("train_id")
        .annotate(total=Count("id"), ticked=Count("id", filter=Q(met_at__isnull=False)))
    }
    items: dict[int, InboxItem] = {}
    for requirement in pending:
        train = trains.get(requirement.train_id)
        if train is None:
            continue
        if train.pk not in items:
            gate = requirement.gate
            items[train.pk] = InboxItem(
                train=train,
                gate=gate,
                gate_label=Gate(gate).label,
                round=train.round_for(gate),
                requirements=[],
                criteria_met=counts.get(train.pk, {}).get("ticked", 0),
                criteria_total=counts.get(train.pk, {}).get("total", 0),
            )
        items[train.pk].requirements.append(requirement)
    return list(items.values())


def decided(*, user: AbstractBaseUser, limit: int = 50) -> list[ApprovalDecision]:
    return list(
        ApprovalDecision.objects.filter(user=user, requirement__train__in=trains_visible_to(user))
        .select_related("requirement__train", "requirement__user", "requirement__group")
        .order_by("-decided_at", "-id")[:limit]
    )


# The calendar -----------------------------------------------------------------------------


@dataclass
class CalendarEntry:
    day: date
    train: ReleaseTrain
    label: str
    kind: str  # "phase" or "milestone"
    overdue: bool
    done: bool


def calendar_entries(*, user: AbstractBaseUser, first: date, last: date) -> list[CalendarEntry]:
    """Phase deadlines and milestones of visible trains between two dates (2 queries)."""
    today = timezone.localdate()
    visible = trains_visible_to(user)
    entries = [
        CalendarEntry(
            day=p.planned_end,
            train=p.train,
            label=f"{p.get_kind_display()} ends",
            kind="phase",
            overdue=p.planned_end < today and p.actual_end is None and p.train.is_open,
            done=p.actual_end is not None,
        )
        for p in Phase.objects.filter(
            train__in=visible, planned_end__range=(first, last)
        ).select_related("train")
    ]
    entries += [
        CalendarEntry(
            day=m.due_date,
            train=m.train,
            label=m.name,
            kind="milestone",
            overdue=m.due_date < today and m.reached_at is None and m.train.is_open,
            done=m.reached_at is not None,
        )
        for m in Milestone.objects.filter(
            train__in=visible, due_date__range=(first, last)
        ).select_related("train")
    ]
    entries.sort(key=lambda e: (e.day, e.train.name, e.label))
    return entries


# Applications pages ----------------------------------------------------------------------


def applications_for(*, user: AbstractBaseUser) -> QuerySet[Application]:
    """Release managers and engineers see every application; product owners their own."""
    apps = Application.objects.select_related("product_owner").order_by("name")
    if (
        user.is_superuser
        or roles.has_role(user, roles.RELEASE_MANAGERS)
        or roles.has_role(user, roles.RELEASE_ENGINEERS)
    ):
        return apps
    return apps.filter(product_owner=user)


def application_releases(*, application: Application, user: AbstractBaseUser) -> list:
    """An application's releases, with their train only where the user may see it."""
    visible = set(trains_visible_to(user).values_list("pk", flat=True))
    releases = list(
        application.releases.select_related("train")
        .prefetch_related(
            Prefetch("turnovers", queryset=Turnover.objects.select_related("decided_by"))
        )
        .order_by("-created_at", "-id")
    )
    for release in releases:
        release.visible_train = release.train if release.train_id in visible else None
    return releases


def turnovers_waiting(*, user: AbstractBaseUser) -> QuerySet[Turnover]:
    return (
        Turnover.objects.filter(state="submitted", release__train__in=trains_visible_to(user))
        .select_related("release__application", "release__train", "submitted_by")
        .order_by("submitted_at", "id")
    )
