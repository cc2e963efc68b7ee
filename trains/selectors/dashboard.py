"""Reads for the train's page: everything it shows, in a fixed number of queries.

Where the train stands, and every number about it, come from `train_status` (the same
numbers as the list, the inbox, the API and the mails); this module adds the rows the
page shows besides: who ticked what, each decision, each release with its turnovers,
the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.db.models import IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import JSONObject
from django.utils import timezone

from applications.models import (
    RELEASE_BADGES,
    TURNOVER_BADGES,
    Application,
    ApplicationRelease,
    ReleaseState,
    TurnoverState,
)
from approvals.models import ApprovalRequirement, Gate, group_approver_label
from releasemgr.db import JSONList
from releasemgr.people import person_name
from trains import access, workflow
from trains.choices import PHASE_WORK_STATE, EventKind, PhaseKind, TrainState
from trains.facts import CriterionFact, PhaseFact, facts_of, parse_date, parse_moment, with_facts
from trains.models import (
    Deployment,
    FreezeWindow,
    Milestone,
    ReleaseTrain,
    ReleaseTrainUserObjectPermission,
)
from trains.selectors.applications import (
    ReleaseActions,
    ReleaseStep,
    may_decide_turnover,
    may_open_application,
    next_move,
    release_actions,
)
from trains.selectors.timeline import Timeline, timeline
from trains.services import EDITABLE_RELEASE_STATES, RELEASE_LEAVES_STATES
from trains.services.gates import requirement_gates_open
from trains.status import TrainStatus, train_status

HISTORY_PAGE = 50
# Deployments are recorded in the deployment phase only, and no step leads back from it
# (tests/trains/test_transitions.py holds the state machine to that): earlier states skip
# the query.
DEPLOYED_STATES = (TrainState.DEPLOYMENT, TrainState.CLOSED, TrainState.CANCELLED)


@dataclass
class CriterionRow:
    """An exit criterion as the dashboard shows it: display values computed once, so
    that a hundred rows cost the template one lookup a value."""

    criterion: CriterionFact
    met: bool
    detail: str
    can_toggle: bool
    toggle_note: str
    can_remove: bool = False
    check_url: str = ""
    remove_url: str = ""
    met_line: str = ""
    can_set_required: bool = False  # made required or optional while its phase is not over
    required_url: str = ""

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
    pk: int
    state: TurnoverState
    description: str
    reason: str
    submitted_at: datetime
    decided_by: str
    decided_at: datetime | None
    can_decide: bool = False  # this person may accept or reject it here, now

    @property
    def label(self) -> str:
        return TurnoverState(self.state).label

    @property
    def badge(self) -> str:
        return TURNOVER_BADGES[self.state]


@dataclass
class ReleaseRow:
    """An application release as the dashboard shows it: display values computed once,
    its turnovers newest first, and what this person may do to it here."""

    pk: int
    app_name: str
    version: str
    owner: str
    state: str
    state_label: str
    badge: str
    turnovers: list[TurnoverRow]
    remove_url: str = ""
    move_url: str = ""
    app_url: str = ""  # its application's page, where this person may open it
    actions: ReleaseActions = field(default_factory=ReleaseActions)

    def __str__(self) -> str:
        return f"{self.app_name} {self.version}"

    @property
    def latest(self) -> TurnoverRow | None:
        return self.turnovers[0] if self.turnovers else None

    @property
    def earlier(self) -> list[TurnoverRow]:
        return self.turnovers[1:]


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
    phase: PhaseFact
    criteria: list[CriterionRow]
    met: int  # required criteria met, of `total` (train_status)
    total: int

    @property
    def label(self) -> str:
        return PhaseKind(self.phase.kind).label

    @property
    def unmet_required(self) -> int:
        return self.total - self.met


@dataclass
class DecisionRow:
    pk: int
    requirement_id: int
    round: int
    user_id: int
    name: str  # the decider's name, as people are named everywhere (releasemgr.people)
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
    editable: bool = False  # its requirements may be added or removed now, by this person


@dataclass
class Action:
    name: str
    label: str
    style: str
    enabled: bool
    reasons: list[str]
    summary: str
    needs_reason: bool = False
    records_deployment: bool = False  # the deployment form, not a plain button


@dataclass
class OwnerAction:
    """A product owner's next move on one of their releases: a development step
    forward, or (no step) the turnover to submit."""

    release: ReleaseRow
    step: ReleaseStep | None = None


@dataclass
class Banner:
    """The status banner at the top of the train's page: where the train stands (its
    `train_status`, the same for everyone) and the one thing this person can do about it
    now. At most one of `decide`, `step`, `review`, `owner`, `tick` is set."""

    status: TrainStatus
    failed_deployment: Deployment | None = None  # the last attempt, when it failed
    decide: list[RequirementRow] = field(default_factory=list)  # approve or reject
    step: Action | None = None  # the train's next step, enabled or with what blocks it
    review: list[ReleaseRow] = field(default_factory=list)  # their turnovers to decide
    owner: OwnerAction | None = None
    owner_more: int = 0  # the owner's other releases that wait for them
    tick: CriterionRow | None = None  # a required criterion of the phase to tick

    @property
    def has_action(self) -> bool:
        return bool(self.decide or self.step or self.review or self.owner or self.tick)


@dataclass
class Dashboard:
    train: ReleaseTrain
    status: TrainStatus
    banner: Banner
    timeline: Timeline
    today: date
    phases: list[PhaseRow]
    current_phase: str | None
    releases: list[ReleaseRow]
    gates: list[GateRow]
    deployments: list[Deployment]
    milestones: list[MilestoneRow]
    events: list[EventRow]
    more_events: bool
    engineers: list[Person]
    viewers: list[Person]
    actions: list[Action]
    can_manage: bool
    can_deploy: bool
    release_candidates: list[ApplicationRelease] = field(default_factory=list)

    @property
    def releases_editable(self) -> bool:
        return self.can_manage and self.train.state in EDITABLE_RELEASE_STATES

    @property
    def releases_movable(self) -> bool:
        """Its releases may move to another train or be freed: in scoping or
        construction, or once the train is closed or cancelled."""
        return self.can_manage and self.train.state in RELEASE_LEAVES_STATES

    @property
    def requirements_editable(self) -> bool:
        """Approval requirements are set in scoping and locked after it."""
        return self.can_manage and self.train.state == TrainState.SCOPING

    @property
    def state(self) -> str:
        return self.train.state


def dashboard_train(user, pk: int) -> ReleaseTrain:
    """The train for its page, with its facts, its milestones and the freeze windows from
    its start on (JSON columns) and the user's rights on it: one query."""
    milestones = Milestone.objects.filter(train=OuterRef("pk")).order_by().values("train")
    # One aggregate row over every window that ends after the train starts (grouped by a
    # constant: no GROUP BY); the timeline keeps those it draws.
    freeze_windows = (
        FreezeWindow.objects.filter(end__gte=OuterRef("start_date"))
        .order_by()
        .annotate(all=Value(1, output_field=IntegerField()))
        .values("all")
    )
    return access.get_train_for_user(
        user,
        pk,
        also=(access.MANAGE, access.DEPLOY, access.TICK_VERIFICATION),
        queryset=with_facts(ReleaseTrain.objects.all()).annotate(
            page_milestones=Subquery(
                milestones.annotate(
                    j=JSONList(
                        JSONObject(id="id", name="name", due="due_date", reached="reached_at")
                    )
                ).values("j")[:1]
            ),
            page_freezes=Subquery(
                freeze_windows.annotate(
                    j=JSONList(
                        JSONObject(id="id", name="name", start="start", end="end", reason="reason")
                    )
                ).values("j")[:1]
            ),
        ),
    )


@dataclass(frozen=True)
class MilestoneRow:
    pk: int
    name: str
    due_date: date
    reached_at: datetime | None


def _milestones(train: ReleaseTrain) -> list[MilestoneRow]:
    """The train's milestones, due first: off the page's train query when it read them
    (`dashboard_train`), else one query."""
    if "page_milestones" not in train.__dict__:
        return [
            MilestoneRow(m.pk, m.name, m.due_date, m.reached_at) for m in train.milestones.all()
        ]
    rows = [
        MilestoneRow(m["id"], m["name"], parse_date(m["due"]), parse_moment(m["reached"]))
        for m in train.page_milestones or ()
    ]
    return sorted(rows, key=lambda m: (m.due_date, m.pk))


def train_dashboard(*, train: ReleaseTrain, user) -> Dashboard:
    """Everything the train's page shows, in a fixed number of queries."""
    status = train_status(train, user)
    facts = facts_of(train)
    today = status.today
    manage = access.can_manage(user, train)
    engineers = [Person(p.pk, p.username, p.name) for p in facts.engineers]
    phases = _phase_rows(train, user, status, manage=manage)
    releases = _release_rows(train, user)
    gates = _gate_rows(train, user, status)
    deployments = (
        list(train.deployments.select_related("attempted_by"))
        if train.state in DEPLOYED_STATES
        else []
    )
    milestones = _milestones(train)
    actions = [
        Action(
            o.name,
            o.label,
            o.step.style,
            o.enabled,
            o.unmet,
            o.summary,
            o.step.needs_reason,
            o.step.via == workflow.Via.DEPLOYMENT,
        )
        for o in status.options
    ]
    banner = _banner(status, actions, gates, releases, phases, deployments)
    return Dashboard(
        train=train,
        status=status,
        banner=banner,
        timeline=timeline(train, status, milestones),
        today=today,
        phases=phases,
        current_phase=status.phase,
        releases=releases,
        gates=gates,
        deployments=deployments,
        milestones=milestones,
        **dict(zip(("events", "more_events"), history_page(train=train), strict=True)),
        engineers=engineers,
        viewers=_viewers(train) if manage else [],
        # The action bar: the steps the banner does not show already.
        actions=[a for a in actions if a is not banner.step],
        can_manage=manage,
        can_deploy=access.can_deploy(user, train),
        release_candidates=_release_candidates(train) if manage else [],
    )


def _banner(
    status: TrainStatus,
    actions: list[Action],
    gates: list[GateRow],
    releases: list[ReleaseRow],
    phases: list[PhaseRow],
    deployments: list[Deployment],
) -> Banner:
    """The banner's one action for this person, the first that applies: deciding at the
    open gate; the train's next step when it can be taken; turnovers to accept or reject;
    the owner's next move on their releases; the next step with what blocks it; a
    required criterion of the phase to tick."""
    last = deployments[0] if deployments else None  # newest first
    banner = Banner(
        status=status,
        failed_deployment=(
            last
            if last is not None and not last.succeeded and status.state == TrainState.DEPLOYMENT
            else None
        ),
    )
    next_step = status.next_step
    step = next((a for a in actions if next_step and a.name == next_step.name), None)
    moves = _owner_moves(status, releases)
    ticks = [
        c
        for row in phases
        if row.phase.kind == status.phase
        for c in row.criteria
        if c.can_toggle and c.required and not c.met
    ]
    decide = [r for gate in gates if gate.is_open for r in gate.requirements if r.can_decide]
    if decide:
        banner.decide = decide
    elif step is not None and step.enabled:
        banner.step = step
    elif review := [r for r in releases if r.latest is not None and r.latest.can_decide]:
        banner.review = review
    elif moves:
        banner.owner, banner.owner_more = moves[0], len(moves) - 1
    elif step is not None:
        banner.step = step
    elif ticks:
        banner.tick = ticks[0]
    return banner


def _owner_moves(status: TrainStatus, releases: list[ReleaseRow]) -> list[OwnerAction]:
    """Each of this person's releases that waits for them, with their next move."""
    moves = []
    for row in releases:
        move = next_move(row.actions, train_state=status.state)
        if move is not None:
            moves.append(OwnerAction(row, move.step))
    return moves


def _phase_rows(train: ReleaseTrain, user, status: TrainStatus, *, manage: bool) -> list[PhaseRow]:
    """The phases, each with its exit criteria (the timeline is `selectors.timeline`)."""
    facts = facts_of(train)
    work_state = train.state if train.state in PHASE_WORK_STATE.values() else None
    rows = []
    counts = {p.phase: p for p in status.phases}
    for phase in facts.phases:
        criteria = []
        may_tick = access.can_check_criterion(user, train, phase.kind)
        may_set_required = manage and train.is_open and not workflow.phase_over(train, phase.kind)
        for criterion in (c for c in facts.criteria if c.phase == phase.kind):
            met, detail = workflow.criterion_status(criterion, facts)
            can_toggle, note = False, ""
            if criterion.is_manual and train.is_open and may_tick:
                if work_state == PHASE_WORK_STATE[phase.kind]:
                    can_toggle = True
                elif not met and not workflow.phase_over(train, phase.kind):
                    # Only a criterion still to tick, of a phase not yet over, waits for its state.
                    note = (
                        f"Can be ticked during "
                        f"{TrainState(PHASE_WORK_STATE[phase.kind]).label.lower()}"
                    )
            base = f"/trains/{train.pk}/criteria/{criterion.pk}/"
            met_line = ""
            if criterion.met_at:
                met_line = f"Checked by {criterion.met_by} on {_when(criterion.met_at)}"
            criteria.append(
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
                    can_set_required=may_set_required,
                    required_url=base + "required/",
                )
            )
        rows.append(
            PhaseRow(
                phase=phase,
                criteria=criteria,
                met=counts[phase.kind].met,
                total=counts[phase.kind].total,
            )
        )
    return rows


def _gate_rows(train: ReleaseTrain, user, status: TrainStatus) -> list[GateRow]:
    """Gates: requirements with this round's decisions (approvals counted by
    train_status); earlier rounds kept apart."""
    requirements, decisions = _approval_rows(train)
    counted = {r.pk: r for gate in status.gates for r in gate.requirements}
    decidable = {r.pk for r in status.decidable}
    editable = requirement_gates_open(train) if access.can_manage(user, train) else []
    gates = []
    for gate_status in status.gates:
        gate, rnd = gate_status.gate, gate_status.round
        is_open = train.state == workflow.GATE_STATE[gate]
        rows = [r for r in requirements if r.gate == gate]
        for row in rows:
            row.decisions = [d for d in decisions if d.requirement_id == row.pk and d.round == rnd]
            row.approvals = counted[row.pk].approvals if row.pk in counted else 0
            row.can_decide = row.pk in decidable
            if is_open and not row.can_decide and access.asks_for(user, counted[row.pk]):
                row.decide_note = (
                    "You have decided in this round."
                    if user.pk in counted[row.pk].decided_by
                    else "As the train's primary release manager you may not approve it."
                )
        past = [d for d in decisions if d.requirement_id in {r.pk for r in rows} and d.round != rnd]
        if gate in workflow.EXCEPTION_GATES and not rows and gate not in editable:
            continue  # asked for only by the trains that may have it
        gates.append(
            GateRow(gate, Gate(gate).label, rnd, is_open, rows, past, editable=gate in editable)
        )
    return gates


def _release_candidates(train: ReleaseTrain) -> list[ApplicationRelease]:
    if train.state not in EDITABLE_RELEASE_STATES:
        return []
    return list(
        ApplicationRelease.objects.filter(train__isnull=True)
        .select_related("application")
        .order_by("application__name", "version")[:200]
    )


def _viewers(train: ReleaseTrain) -> list[Person]:
    """Who was granted view on the train (its managers see the list)."""
    granted = ReleaseTrainUserObjectPermission.objects.filter(
        content_object=train, permission__codename=access.VIEW_PERM
    )
    return [
        Person(pk, username, person_name(first, last, username))
        for pk, username, first, last in get_user_model()
        .objects.filter(pk__in=granted.values("user_id"))
        .order_by("username")
        .values_list("id", "username", "first_name", "last_name")
    ]


def history_page(
    *, train: ReleaseTrain, before_id: int | None = None
) -> tuple[list[EventRow], bool]:
    """The history, newest first, HISTORY_PAGE rows at a time: the first page, or the
    rows older than `before_id` ('show more')."""
    events = train.events.all()
    if before_id is not None:
        events = events.filter(id__lt=before_id)
    events = _event_rows(events[: HISTORY_PAGE + 1])
    return events[:HISTORY_PAGE], len(events) > HISTORY_PAGE


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


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
        decider_first,
        decider_last,
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
            "decisions__user__first_name",
            "decisions__user__last_name",
            "decisions__approve",
            "decisions__comment",
            "decisions__decided_at",
        )
    ):
        if pk not in requirements:
            label = (
                person_name(first, last, username)
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
                    person_name(decider_first, decider_last, decider),
                    approve,
                    comment,
                    _when(decided_at),
                    decided_at,
                )
            )
    decisions.sort(key=lambda d: (d.decided_at, d.pk))
    return list(requirements.values()), decisions


def _release_rows(train: ReleaseTrain, user) -> list[ReleaseRow]:
    """The train's releases with their turnovers (newest first) as plain rows, and what
    this person may do to each (`trains.services`' own refusals): one query (a left join,
    a row per turnover), no model objects read."""
    rows: dict[int, ReleaseRow] = {}
    states: dict[int, set[str]] = {}
    releases: dict[int, ApplicationRelease] = {}
    # Read once for the many releases of one application, or of one owner.
    applications: dict[int, Application] = {}
    may_open: dict[int, bool] = {}
    for (
        pk,
        version,
        state,
        app_id,
        app,
        owner_id,
        first,
        last,
        username,
        turnover_id,
        turnover_state,
        description,
        reason,
        submitted_at,
        decided_at,
        decider,
        decider_first,
        decider_last,
    ) in train.application_releases.order_by(
        "application__name", "version", "id", "-turnovers__submitted_at", "-turnovers__id"
    ).values_list(
        "id",
        "version",
        "state",
        "application_id",
        "application__name",
        "application__product_owner_id",
        "application__product_owner__first_name",
        "application__product_owner__last_name",
        "application__product_owner__username",
        "turnovers__id",
        "turnovers__state",
        "turnovers__description",
        "turnovers__rejection_reason",
        "turnovers__submitted_at",
        "turnovers__decided_at",
        "turnovers__decided_by__username",
        "turnovers__decided_by__first_name",
        "turnovers__decided_by__last_name",
    ):
        row = rows.get(pk)
        if row is None:
            if owner_id not in may_open:
                may_open[owner_id] = may_open_application(user, owner_id)
            if app_id not in applications:
                # from_db: the ORM's own way to make a read row an instance, at half the cost
                # of the keyword constructor (200 releases a page)
                applications[app_id] = Application.from_db(
                    None, ["id", "name", "product_owner_id"], (app_id, app, owner_id)
                )
            row = rows[pk] = ReleaseRow(
                pk=pk,
                app_name=app,
                version=version,
                owner=person_name(first, last, username),
                state=state,
                state_label=ReleaseState(state).label,
                badge=RELEASE_BADGES[state],
                turnovers=[],
                remove_url=f"/trains/{train.pk}/releases/{pk}/remove/",
                move_url=f"/trains/{train.pk}/releases/{pk}/move/",
                app_url=(f"/applications/{app_id}/#release-{pk}" if may_open[owner_id] else ""),
            )
            states[pk] = set()
            # What the services' refusals read: the release, its application's owner.
            releases[pk] = release = ApplicationRelease.from_db(
                None,
                ["id", "application_id", "version", "train_id", "state"],
                (pk, app_id, version, train.pk, state),
            )
            release.application = applications[app_id]
        if turnover_id is not None:
            states[pk].add(turnover_state)
            row.turnovers.append(
                TurnoverRow(
                    pk=turnover_id,
                    state=TurnoverState(turnover_state),
                    description=description,
                    reason=reason,
                    submitted_at=submitted_at,
                    decided_by=person_name(decider_first, decider_last, decider) if decider else "",
                    decided_at=decided_at,
                )
            )
    for pk, row in rows.items():
        row.actions = release_actions(
            releases[pk], user, train_state=train.state, turnover_states=states[pk]
        )
        if row.latest is not None:
            row.latest.can_decide = may_decide_turnover(
                user, turnover_state=row.latest.state, train_state=train.state
            )
    return list(rows.values())


def _event_rows(events) -> list[EventRow]:
    """History rows in words: a step by its label with the states it moved between
    ("Request development approval: Construction → Development approval"), a person by
    their full name."""
    rows = []
    for (
        pk,
        kind,
        at,
        source,
        target,
        transition,
        message,
        username,
        first,
        last,
    ) in events.values_list(
        "id",
        "kind",
        "created_at",
        "from_state",
        "to_state",
        "transition",
        "message",
        "actor__username",
        "actor__first_name",
        "actor__last_name",
    ):
        if kind == EventKind.TRANSITION:
            step = workflow.STEPS.get(transition)
            source, target = TrainState(source).label, TrainState(target).label
            moved = f"{source} → {target}" if source != target else f"stays in {source}"
            text = f"{step.label}: {moved}" if step else moved
            text += f" — {message}" if message else ""
        else:
            text = message or EventKind(kind).label
        who = person_name(first, last, username) if username else "system"
        rows.append(EventRow(pk, _when(at), at.isoformat(), who, text))
    return rows
