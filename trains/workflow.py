"""The release train's state table, whole: every step, where it leads, what allows it.

Each step names its source states and target, the phase or gate it belongs to, the
condition that must hold (the exit criteria of its phase, or the quorum of its gate),
the access action that allows a person to take it (`trains.access`), whether it needs
a reason, who is told (`trains.notifications.audience`), and which command takes it.
The model's transitions are built from this table (`fsm`), and every page, the API, the
admin and the mails read it through django-fsm's public API (`available_steps`).

Conditions are computed from the train's facts (`trains.facts`), read once and kept on
the train, so that a page or a command evaluates each condition once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from django_fsm import RETURN_VALUE, can_proceed

from approvals.models import Gate
from trains.choices import (
    FINAL_STATES,
    OPEN_STATES,
    PHASE_ORDER,
    STATE_PHASE,
    STATE_WHERE,
    CriterionCheck,
    PhaseKind,
    TrainState,
    TrainType,
)
from trains.facts import CriterionFact, Facts, facts_of

if TYPE_CHECKING:
    from trains.models import ReleaseTrain

S = TrainState


class Via(StrEnum):
    """Which command takes a step."""

    STEP = "step"  # a person, with POST /trains/<id>/<name>/ (services.train_transition)
    DEPLOYMENT = "deployment"  # recording a deployment attempt (services.train_deploy)
    DECISION = "decision"  # an approver's decision (services.decision_record)
    SYSTEM = "system"  # the system, when the condition comes to hold


class Tell(StrEnum):
    """Who is told when a step is taken (trains.notifications.audience)."""

    LEAD = "lead"  # the train's primary release manager
    APPROVERS = "approvers"  # whoever may decide at the step's gate
    OWNERS_AND_LEAD = "owners_and_lead"  # its releases' product owners and its lead
    VIEWERS = "viewers"  # everyone who may see the train


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    sources: tuple[TrainState, ...]
    target: TrainState
    phase: PhaseKind  # the phase it closes or belongs to
    via: Via
    tell: Tell
    action: str | None = None  # trains.access action that lets a person take it
    gate: Gate | None = None
    needs_criteria: bool = False  # the exit criteria of `phase` must be met
    needs_quorum: bool = False  # the approvals of `gate` must be complete
    needs_reason: bool = False
    outcomes: tuple[TrainState, ...] = ()  # where it may end, when not always `target`
    frozen: bool = False  # refused inside a freeze window (trains.freezes), save exceptions
    style: str = "primary"
    takes_baseline: bool = False  # the plan as it stands is saved as the baseline
    does: str = ""  # what a train does in it, after "only a train … can": "be deployed"

    @property
    def offered(self) -> bool:
        """Offered to people as a button (the action bar, the API's steps)."""
        return self.via in (Via.STEP, Via.DEPLOYMENT)


STEPS: dict[str, Step] = {
    s.name: s
    for s in [
        Step(
            "start_construction",
            "Start construction",
            (S.SCOPING,),
            S.CONSTRUCTION,
            PhaseKind.SCOPING,
            Via.STEP,
            Tell.LEAD,
            action="manage",
            needs_criteria=True,
            takes_baseline=True,
            does="start construction",
        ),
        Step(
            "request_development_approval",
            "Request development approval",
            (S.CONSTRUCTION,),
            S.DEVELOPMENT_APPROVAL,
            PhaseKind.CONSTRUCTION,
            Via.STEP,
            Tell.APPROVERS,
            action="manage",
            gate=Gate.DEVELOPMENT,
            needs_criteria=True,
            does="go to development approval",
        ),
        Step(
            "approve_development",
            "Approve development",
            (S.DEVELOPMENT_APPROVAL,),
            S.VERIFICATION,
            PhaseKind.CONSTRUCTION,
            Via.SYSTEM,
            Tell.LEAD,
            gate=Gate.DEVELOPMENT,
            needs_quorum=True,
            style="success",
            does="pass the development gate",
        ),
        Step(
            "reject_development",
            "Reject development",
            (S.DEVELOPMENT_APPROVAL,),
            S.CONSTRUCTION,
            PhaseKind.CONSTRUCTION,
            Via.DECISION,
            Tell.OWNERS_AND_LEAD,
            gate=Gate.DEVELOPMENT,
            needs_reason=True,
            style="danger",
            does="be sent back from the development gate",
        ),
        Step(
            "request_executive_approval",
            "Request executive approval",
            (S.VERIFICATION,),
            S.EXECUTIVE_APPROVAL,
            PhaseKind.VERIFICATION,
            Via.STEP,
            Tell.APPROVERS,
            action="manage",
            gate=Gate.EXECUTIVE,
            needs_criteria=True,
            does="go to executive approval",
        ),
        Step(
            "approve_executive",
            "Approve (executive)",
            (S.EXECUTIVE_APPROVAL,),
            S.DEPLOYMENT,
            PhaseKind.VERIFICATION,
            Via.SYSTEM,
            Tell.LEAD,
            gate=Gate.EXECUTIVE,
            needs_quorum=True,
            style="success",
            does="pass the executive gate",
        ),
        Step(
            "reject_executive",
            "Reject (executive)",
            (S.EXECUTIVE_APPROVAL,),
            S.VERIFICATION,
            PhaseKind.VERIFICATION,
            Via.DECISION,
            Tell.OWNERS_AND_LEAD,
            gate=Gate.EXECUTIVE,
            needs_reason=True,
            style="danger",
            does="be sent back from the executive gate",
        ),
        Step(
            "deploy",
            "Record deployment",
            (S.DEPLOYMENT,),
            S.CLOSED,
            PhaseKind.DEPLOYMENT,
            Via.DEPLOYMENT,
            Tell.VIEWERS,
            action="deploy",
            needs_criteria=True,
            outcomes=(S.DEPLOYMENT, S.CLOSED),  # a failed attempt stays in deployment
            style="success",
            frozen=True,
            does="be deployed",
        ),
        Step(
            "cancel",
            "Cancel train",
            tuple(s for s in S if s not in FINAL_STATES),
            S.CANCELLED,
            PhaseKind.SCOPING,  # any phase; its history says which
            Via.STEP,
            Tell.VIEWERS,
            action="manage",
            needs_reason=True,
            style="outline-danger",
            does="be cancelled",
        ),
    ]
}

# Steps a person starts directly with a POST to /trains/<id>/<name>/.
MANUAL_STEPS = tuple(name for name, s in STEPS.items() if s.via == Via.STEP)
# The gates of the train's life, each with the state in which it waits for its approvers.
STEP_GATE_STATE = {s.gate: s.sources[0] for s in STEPS.values() if s.via == Via.DECISION}
STATE_GATE = {state: gate for gate, state in STEP_GATE_STATE.items()}
# Gates outside the train's life: deciding moves nothing; they allow a step that a rule
# would refuse. A freeze exception lets an emergency train deploy inside a freeze window,
# decided while the train is in deployment, by requirements that only an emergency train
# may have.
EXCEPTION_GATES = {Gate.FREEZE_EXCEPTION: S.DEPLOYMENT}
EXCEPTION_TRAIN_TYPES = {Gate.FREEZE_EXCEPTION: (TrainType.EMERGENCY,)}
GATE_STATE = {**STEP_GATE_STATE, **EXCEPTION_GATES}


def phase_over(train: ReleaseTrain, phase: str) -> bool:
    """Whether the train has left this phase behind: its exit criteria are settled and
    can no longer be added, removed or made optional."""
    current = STATE_PHASE.get(train.state)
    return current is not None and PHASE_ORDER.index(phase) < PHASE_ORDER.index(current)


def gate_of(transition: str) -> Gate | None:
    """The gate a step (a history row's transition) belongs to, if any."""
    step = STEPS.get(transition)
    return step.gate if step else None


# Conditions ------------------------------------------------------------------------------


def criterion_status(criterion: CriterionFact, facts: Facts) -> tuple[bool, str]:
    """Whether a criterion holds, and if not, what is missing."""
    check = criterion.rule
    if check == CriterionCheck.MANUAL:
        return criterion.met_at is not None, "not checked yet"
    if check == CriterionCheck.PHASE_DATES_SET:
        return not facts.phases_without_end, (
            "no planned end date for " + ", ".join(facts.phases_without_end)
        )
    if check == CriterionCheck.APPROVALS_SET:
        return not facts.gates_without_approvers, (
            "no approvers for " + ", ".join(facts.gates_without_approvers).lower()
        )
    if check == CriterionCheck.HAS_RELEASES:
        return facts.release_count > 0, "no application release is on the train"
    if check == CriterionCheck.RELEASES_COMPLETE:
        if facts.release_count == 0:
            return False, "no application release is on the train"
        return facts.incomplete_releases == 0, (
            f"{facts.incomplete_releases} of {facts.release_count} application releases "
            "are not development-complete"
        )
    if check == CriterionCheck.TURNOVERS_ACCEPTED:
        if facts.release_count == 0:
            return False, "no application release is on the train"
        return facts.releases_without_accepted_turnover == 0, (
            f"{facts.releases_without_accepted_turnover} of {facts.release_count} "
            "application releases have no accepted turnover"
        )
    raise ValueError(f"unknown criterion check {check!r}")


def exit_criteria_unmet(facts: Facts, phase: str) -> list[str]:
    """The phase's required exit criteria that do not hold, in words."""
    unmet = []
    for criterion in facts.criteria:
        if criterion.phase == phase and criterion.required:
            met, detail = criterion_status(criterion, facts)
            if not met:
                unmet.append(f"{criterion.description}: {detail}")
    return unmet


def quorum_unmet(facts: Facts, gate: str) -> list[str]:
    """The gate's approval requirements not yet satisfied in its current round."""
    requirements = [r for r in facts.requirements if r.gate == gate]
    if not requirements:
        return ["no approvers are set for this gate"]
    return [
        f"{r.label}: {r.approvals} of {r.needed} approvals" for r in requirements if not r.satisfied
    ]


FROZEN = "Deployments are frozen"


def freeze_unmet(train: ReleaseTrain, facts: Facts) -> list[str]:
    """A freeze window covers today: its name and end, unless the train is of a type that
    may ask for a freeze exception and every such requirement of it is satisfied."""
    from trains import freezes

    window = freezes.window_today()
    if window is None:
        return []
    gate = Gate.FREEZE_EXCEPTION
    if train.train_type in EXCEPTION_TRAIN_TYPES[gate]:
        asked = [r for r in facts.requirements if r.gate == gate]
        if asked and all(r.satisfied for r in asked):
            return []
        hint = (
            "an executive's freeze exception is not approved yet"
            if asked
            else "add a freeze exception approver to ask an executive for an exception"
        )
    else:
        hint = "only an emergency train with an approved freeze exception deploys in it"
    return [f"{FROZEN}: {window.label}; {hint}"]


def unmet(train: ReleaseTrain, name: str) -> list[str]:
    """What stands in the way of a step, in words; empty when nothing does."""
    step = STEPS[name]
    if not (step.needs_criteria or step.needs_quorum or step.frozen):
        return []
    facts = facts_of(train)
    if step.needs_quorum:
        return quorum_unmet(facts, step.gate)
    found = exit_criteria_unmet(facts, step.phase) if step.needs_criteria else []
    if step.frozen:
        found += freeze_unmet(train, facts)
    return found


# The model's transitions ---------------------------------------------------------------------


def fsm(name: str) -> dict:
    """The keyword arguments of django-fsm's `@transition` for a step: its sources, its
    target, its condition and who may take it."""
    step = STEPS[name]

    def condition_holds(train: ReleaseTrain) -> bool:
        return not unmet(train, name)

    has_condition = step.needs_criteria or step.needs_quorum or step.frozen

    def may_take(train: ReleaseTrain, user) -> bool:
        from trains import access

        return step.action is not None and access.may(user, step.action, train)

    condition_holds.__name__ = f"{name}_condition"
    return {
        "source": list(step.sources),
        "target": RETURN_VALUE(*step.outcomes) if step.outcomes else step.target,
        "conditions": [condition_holds] if has_condition else [],
        "permission": may_take,
        "custom": {"step": step},
    }


def where(state: str) -> str:
    """ "This train is closed", "This train is awaiting executive approval"."""
    return f"This train is {STATE_WHERE[TrainState(state)]}"


def refusal(state: str, name: str) -> str:
    """Why a train in `state` cannot take step `name`: where it is, and where it would
    have to be. Every refusal for the wrong state reads this way."""
    step = STEPS[name]
    if set(step.sources) == set(OPEN_STATES):
        which = "an open train"
    else:
        which = "a train " + " or ".join(STATE_WHERE[s] for s in step.sources)
    return f"{where(state)}; only {which} can {step.does}."


def possible(train: ReleaseTrain, name: str) -> bool:
    """Whether the train's state allows the step (its condition aside)."""
    return can_proceed(getattr(train, name), check_conditions=False)


@dataclass(frozen=True)
class Option:
    """A step a person may take now, or could once its condition holds."""

    step: Step
    unmet: list[str]

    @property
    def name(self) -> str:
        return self.step.name

    @property
    def label(self) -> str:
        return self.step.label

    @property
    def enabled(self) -> bool:
        return not self.unmet

    @property
    def summary(self) -> str:
        """What blocks it in a few words: "2 construction exit criteria unmet"."""
        if not self.unmet:
            return ""
        n = len(self.unmet)
        if self.step.needs_quorum:
            return f"{n} approval requirement{'s' if n != 1 else ''} unmet"
        frozen = sum(1 for line in self.unmet if line.startswith(FROZEN))
        parts = ["deployments are frozen"] if frozen else []
        if n - frozen:
            noun = "criterion" if n - frozen == 1 else "criteria"
            parts.insert(
                0, f"{n - frozen} {PhaseKind(self.step.phase).label.lower()} exit {noun} unmet"
            )
        return "; ".join(parts)


def _leaving(train: ReleaseTrain) -> tuple:
    """The model's transitions of offered steps out of the train's state, in the table's
    order (django-fsm's `get_all_FIELD_transitions`, read once a model and state: walking
    all of them for every train took a third of each row's status on the lists)."""
    key = (type(train), train.state)
    if key not in _LEAVING:
        order = list(STEPS)
        leaving = [
            t
            for t in train.get_all_state_transitions()
            if t.custom["step"].offered and t.source == train.state
        ]
        _LEAVING[key] = tuple(sorted(leaving, key=lambda t: order.index(t.custom["step"].name)))
    return _LEAVING[key]


_LEAVING: dict[tuple[type, str], tuple] = {}


def available_steps(train: ReleaseTrain, user) -> list[Option]:
    """The steps offered to this person on this train now, in the table's order: the
    train's state allows them and the person may take them; each says what blocks it.
    The dashboard, the API and the admin show these."""
    options: list[Option] = []
    for transition in _leaving(train):
        step = transition.custom["step"]
        if transition.has_perm(train, user) and not any(o.step is step for o in options):
            options.append(Option(step, unmet(train, step.name)))
    return options


DEFAULT_CRITERIA = [
    (PhaseKind.SCOPING, CriterionCheck.PHASE_DATES_SET),
    (PhaseKind.SCOPING, CriterionCheck.APPROVALS_SET),
    (PhaseKind.SCOPING, CriterionCheck.HAS_RELEASES),
    (PhaseKind.CONSTRUCTION, CriterionCheck.RELEASES_COMPLETE),
    (PhaseKind.DEPLOYMENT, CriterionCheck.TURNOVERS_ACCEPTED),
]
DEFAULT_MANUAL_CRITERIA = [
    (PhaseKind.VERIFICATION, "QA sign-off: regression and acceptance tests passed"),
]
