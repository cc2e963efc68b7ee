"""Reads for pages: querysets and plain data built for one page, queries done once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    DateTimeField,
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
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from applications.models import Application, ApplicationRelease, Turnover
from approvals.models import ApprovalDecision, ApprovalRequirement, Gate, group_approver_label
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
    # The group ids as a list, not a join: `user_id = … OR group_id IN (…)` uses both
    # indexes where a subquery made it scan every requirement.
    mine = Q(user=user) | Q(group_id__in=sorted(roles.group_ids(user)))
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
    """How many trains wait for this user's decision (not requirements: a train asking
    two of the user's groups counts once)."""
    return pending_requirements(user=user).order_by().values("train_id").distinct().count()


def visible_trains(*, user: AbstractBaseUser) -> QuerySet[ReleaseTrain]:
    return trains_visible_to(user)


# The dashboard -------------------------------------------------------------------------

HISTORY_PAGE = 50
# Deployments are recorded in the deployment phase only, and no step leads back from it
# (tests/trains/test_transitions.py holds the state machine to that): earlier states skip
# the query.
DEPLOYED_STATES = (TrainState.DEPLOYMENT, TrainState.CLOSED, TrainState.CANCELLED)


@dataclass
class CriterionRow:
    """An exit criterion as the dashboard shows it: display values computed once, so
    that a hundred rows cost the template one lookup a value."""

    criterion: ExitCriterion
    met: bool
    detail: str
    can_toggle: bool
    toggle_note: str
    can_remove: bool = False
    check_url: str = ""
    remove_url: str = ""
    met_line: str = ""

    def __post_init__(self) -> None:
        criterion = self.criterion
        self.pk = criterion.pk
        self.description = criterion.description
        self.required = criterion.required
        self.is_manual = criterion.is_manual
        self.mark, self.mark_class, self.met_text = (
            ("✓", "text-success", "met") if self.met else ("○", "text-body-secondary", "not met")
        )
        self.badges = [
            label
            for label, shown in (("optional", not self.required), ("automatic", not self.is_manual))
            if shown
        ]
        unmet_detail = self.detail if not self.met and not self.is_manual else ""
        self.notes = [n for n in (unmet_detail, self.met_line, self.toggle_note) if n]


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
class Person:
    pk: int
    username: str
    name: str  # the full name, else the user name


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
        return sum(1 for c in self.criteria if c.required and not c.met)


@dataclass
class DecisionRow:
    pk: int
    requirement_id: int
    round: int
    user_id: int
    username: str
    approve: bool
    comment: str
    when: str
    decided_at: datetime


@dataclass
class RequirementRow:
    pk: int
    gate: str
    label: str  # who is asked: a person's name, or "N of group G"
    user_id: int | None
    group_id: int | None
    needed: int
    approvals: int = 0
    decisions: list[DecisionRow] = field(default_factory=list)
    can_decide: bool = False
    decide_note: str = ""

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
    past_decisions: list[DecisionRow]


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
    engineers: list[Person]
    viewers: list[Person]
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
    def state(self) -> str:
        return self.train.state

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
    group_ids = roles.group_ids(user)
    user_roles = roles.user_roles(user)

    phases, milestones = _dated_items(train)
    criteria = list(train.criteria.select_related("met_by").order_by("id"))
    requirements, decisions = _approval_rows(train)
    releases = _release_rows(train)
    engineers, viewers = _people(train, with_viewers=manage)
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
        gate_rows = [r for r in requirements if r.gate == gate]
        for row in gate_rows:
            this_round = [d for d in decisions if d.requirement_id == row.pk and d.round == rnd]
            eligible = row.user_id == user.pk if row.user_id else row.group_id in group_ids
            decided = any(d.user_id == user.pk for d in this_round)
            if is_open and eligible and not decided:
                if gate == Gate.EXECUTIVE and train.primary_manager_id == user.pk:
                    row.decide_note = (
                        "As the train's primary release manager you may not approve it."
                    )
                else:
                    row.can_decide = True
            elif is_open and eligible and decided:
                row.decide_note = "You have decided in this round."
            row.decisions = this_round
            row.approvals = len({d.user_id for d in this_round if d.approve})
        gate_reqs = {r.pk for r in gate_rows}
        past = [d for d in decisions if d.requirement_id in gate_reqs and d.round != rnd]
        gates.append(GateRow(gate, Gate(gate).label, rnd, is_open, gate_rows, past))

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
        deployments=(
            list(train.deployments.select_related("attempted_by"))
            if train.state in DEPLOYED_STATES
            else []
        ),
        milestones=milestones,
        events=events[:HISTORY_PAGE],
        more_events=len(events) > HISTORY_PAGE,
        engineers=engineers,
        viewers=viewers,
        actions=actions,
        can_manage=manage,
        can_deploy=deploy_allowed,
        release_candidates=candidates,
    )


def _people(train: ReleaseTrain, *, with_viewers: bool) -> tuple[list, list]:
    """The train's release engineers and, for its managers, who was granted view on it:
    one query (UNION ALL of the two lists), as plain rows."""
    columns = ("list", "id", "username", "first_name", "last_name")
    people = (
        get_user_model()
        .objects.filter(engineered_trains=train)
        .annotate(list=Value("engineer"))
        .values_list(*columns)
    )
    if with_viewers:
        granted = ReleaseTrainUserObjectPermission.objects.filter(
            content_object=train, permission__codename="view_releasetrain"
        )
        people = people.union(
            get_user_model()
            .objects.filter(pk__in=granted.values("user_id"))
            .annotate(list=Value("viewer"))
            .values_list(*columns),
            all=True,
        )
    engineers, viewers = [], []
    for which, pk, username, first, last in people.order_by("username"):
        person = Person(pk, username, display_name(first, last, username))
        (engineers if which == "engineer" else viewers).append(person)
    return engineers, viewers


def history_page(*, train: ReleaseTrain, before_id: int) -> tuple[list[TrainEvent], bool]:
    """Older history, HISTORY_PAGE rows at a time, for 'show more'."""
    events = _event_rows(train.events.filter(id__lt=before_id)[: HISTORY_PAGE + 1])
    return events[:HISTORY_PAGE], len(events) > HISTORY_PAGE


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def display_name(first: str, last: str, username: str) -> str:
    """A person as pages name them: the full name, else the user name (what
    `get_full_name() or username` gives, from plain columns)."""
    full = f"{first} {last}".strip()
    return full or username


def _dated_items(train: ReleaseTrain) -> tuple[list[Phase], list[Milestone]]:
    """The train's phases and milestones, the dated things on its timeline: one query
    (UNION ALL of the two tables), made into model instances as the ORM would."""
    no_moment = Cast(Value(None), DateTimeField())
    phase_fields = ["id", "kind", "position", "planned_end", "actual_start", "actual_end"]
    milestone_fields = ["id", "name", "due_date", "reached_at", "reached_by_id"]
    phases = (
        Phase.objects.filter(train=train)
        .order_by()
        .annotate(what=Value("phase"), by=Cast(Value(None), BigIntegerField()))
        .values_list("what", *phase_fields, "by")
    )
    milestones = (
        Milestone.objects.filter(train=train)
        .order_by()
        .annotate(what=Value("milestone"), pos=Value(0), started=no_moment)
        .values_list(
            "what", "id", "name", "pos", "due_date", "started", "reached_at", "reached_by_id"
        )
    )
    phase_rows, milestone_rows = [], []
    for what, pk, label, position, day, started, ended, by in phases.union(milestones, all=True):
        if what == "phase":
            values = dict(
                zip(phase_fields, (pk, label, position, day, started, ended), strict=True)
            )
            phase_rows.append(_instance(Phase, train_id=train.pk, **values))
        else:
            values = dict(zip(milestone_fields, (pk, label, day, ended, by), strict=True))
            milestone_rows.append(_instance(Milestone, train_id=train.pk, **values))
    phase_rows.sort(key=lambda p: p.position)
    milestone_rows.sort(key=lambda m: (m.due_date, m.pk))
    return phase_rows, milestone_rows


def _instance(model, **values):
    """A model instance from a row read some other way, as the ORM makes one
    (`from_db` takes the values in the model's field order)."""
    fields = [f.attname for f in model._meta.concrete_fields]
    return model.from_db(None, fields, [values[name] for name in fields])


def _approval_rows(train: ReleaseTrain) -> tuple[list[RequirementRow], list[DecisionRow]]:
    """The train's approval requirements and every decision on them, earliest first: one
    query (a left join, a row per decision), no model objects."""
    requirements: dict[int, RequirementRow] = {}
    decisions = []
    for (
        pk,
        gate,
        user_id,
        group_id,
        needed,
        username,
        first,
        last,
        group,
        decision_id,
        rnd,
        decider_id,
        decider,
        approve,
        comment,
        decided_at,
    ) in (
        ApprovalRequirement.objects.filter(train=train)
        .order_by("id")
        .values_list(
            "id",
            "gate",
            "user_id",
            "group_id",
            "required_approvals",
            "user__username",
            "user__first_name",
            "user__last_name",
            "group__name",
            "decisions__id",
            "decisions__round",
            "decisions__user_id",
            "decisions__user__username",
            "decisions__approve",
            "decisions__comment",
            "decisions__decided_at",
        )
    ):
        if pk not in requirements:
            label = (
                display_name(first, last, username)
                if user_id
                else group_approver_label(group, needed)
            )
            requirements[pk] = RequirementRow(pk, gate, label, user_id, group_id, needed)
        if decision_id is not None:
            decisions.append(
                DecisionRow(
                    decision_id,
                    pk,
                    rnd,
                    decider_id,
                    decider,
                    approve,
                    comment,
                    _when(decided_at),
                    decided_at,
                )
            )
    decisions.sort(key=lambda d: (d.decided_at, d.pk))
    return list(requirements.values()), decisions


def _release_rows(train: ReleaseTrain) -> list[ReleaseRow]:
    """The train's releases with their turnovers as plain rows: one query (a left join,
    a row per turnover), no model objects."""
    from applications.models import RELEASE_BADGES, TURNOVER_BADGES, ReleaseState, TurnoverState

    rows: dict[int, ReleaseRow] = {}
    for (
        pk,
        version,
        state,
        app,
        first,
        last,
        username,
        turnover_state,
        description,
        reason,
    ) in train.application_releases.order_by(
        "application__name", "version", "id", "turnovers__submitted_at", "turnovers__id"
    ).values_list(
        "id",
        "version",
        "state",
        "application__name",
        "application__product_owner__first_name",
        "application__product_owner__last_name",
        "application__product_owner__username",
        "turnovers__state",
        "turnovers__description",
        "turnovers__rejection_reason",
    ):
        row = rows.get(pk)
        if row is None:
            row = rows[pk] = ReleaseRow(
                pk=pk,
                app_name=app,
                version=version,
                owner=display_name(first, last, username),
                state=state,
                state_label=ReleaseState(state).label,
                badge=RELEASE_BADGES[state],
                turnovers=[],
                remove_url=f"/trains/{train.pk}/releases/{pk}/remove/",
            )
        if turnover_state is not None:
            row.turnovers.append(
                TurnoverRow(
                    TurnoverState(turnover_state).label,
                    TURNOVER_BADGES[turnover_state],
                    description,
                    reason,
                )
            )
    return list(rows.values())


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
