"""The release train's state table: its steps, who takes them, and their conditions.

Each condition comes in two forms: `*_unmet(train)` lists what is missing in words a
person can act on (for error messages and disabled buttons), and `*_met(train)` is the
predicate django-fsm checks on the transition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, OuterRef, Q

from applications.models import ReleaseState, Turnover, TurnoverState
from approvals.selectors import gate_status
from trains.choices import CriterionCheck, PhaseKind

if TYPE_CHECKING:
    from trains.models import ExitCriterion, ReleaseTrain


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    actor: str  # "manager", "deployer", "approver" or "system"
    needs_reason: bool = False
    style: str = "primary"


STEPS: dict[str, Step] = {
    s.name: s
    for s in [
        Step("start_construction", "Start construction", "manager"),
        Step("request_development_approval", "Request development approval", "manager"),
        Step("approve_development", "Approve development", "system", style="success"),
        Step("reject_development", "Reject development", "approver", True, "danger"),
        Step("request_executive_approval", "Request executive approval", "manager"),
        Step("approve_executive", "Approve (executive)", "system", style="success"),
        Step("reject_executive", "Reject (executive)", "approver", True, "danger"),
        Step("deploy", "Record deployment", "deployer", style="success"),
        Step("cancel", "Cancel train", "manager", True, "outline-danger"),
    ]
}

# Steps a person starts directly with a POST to /trains/<id>/<name>/.
MANUAL_STEPS = (
    "start_construction",
    "request_development_approval",
    "request_executive_approval",
    "cancel",
)


@dataclass(frozen=True)
class TrainFacts:
    """What the automatic exit criteria are computed from; three queries."""

    phases_without_end: list[str]
    gates_without_approvers: list[str]
    release_count: int
    incomplete_releases: int
    releases_without_accepted_turnover: int


def train_facts(train: ReleaseTrain) -> TrainFacts:
    from approvals.models import Gate

    missing = [
        PhaseKind(kind).label
        for kind, end in train.phases.values_list("kind", "planned_end")
        if end is None
    ]
    gates = set(train.approval_requirements.values_list("gate", flat=True))
    accepted = Turnover.objects.filter(release=OuterRef("pk"), state=TurnoverState.ACCEPTED)
    counts = train.application_releases.aggregate(
        total=Count("id"),
        incomplete=Count("id", filter=~Q(state=ReleaseState.DEVELOPMENT_COMPLETE)),
        without_turnover=Count("id", filter=~Q(Exists(accepted))),
    )
    return TrainFacts(
        phases_without_end=missing,
        gates_without_approvers=[g.label for g in Gate if g.value not in gates],
        release_count=counts["total"],
        incomplete_releases=counts["incomplete"],
        releases_without_accepted_turnover=counts["without_turnover"],
    )


def criterion_status(criterion: ExitCriterion, facts: TrainFacts) -> tuple[bool, str]:
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


def facts_from(*, phases, requirements, release_states, releases_without_accepted) -> TrainFacts:
    """The same facts, from rows a page has already fetched, so a dashboard needs no
    extra queries."""
    from approvals.models import Gate

    gates = {r.gate for r in requirements}
    return TrainFacts(
        phases_without_end=[p.get_kind_display() for p in phases if p.planned_end is None],
        gates_without_approvers=[g.label for g in Gate if g.value not in gates],
        release_count=len(release_states),
        incomplete_releases=sum(s != ReleaseState.DEVELOPMENT_COMPLETE for s in release_states),
        releases_without_accepted_turnover=releases_without_accepted,
    )


def exit_criteria_unmet(
    train: ReleaseTrain, phase: str, *, criteria=None, facts: TrainFacts | None = None
) -> list[str]:
    if criteria is None:
        criteria = list(train.criteria.filter(phase=phase, required=True))
    else:
        criteria = [c for c in criteria if c.phase == phase and c.required]
    if not criteria:
        return []
    facts = facts or train_facts(train)
    unmet = []
    for criterion in criteria:
        met, detail = criterion_status(criterion, facts)
        if not met:
            unmet.append(f"{criterion.description}: {detail}")
    return unmet


def gate_unmet(train: ReleaseTrain, gate: str, *, statuses=None) -> list[str]:
    if statuses is None:
        statuses = gate_status(train=train, gate=gate, round=train.round_for(gate))
    if not statuses:
        return ["no approvers are set for this gate"]
    return [
        f"{s.requirement.approver_label}: {s.approvals} of {s.needed} approvals"
        for s in statuses
        if not s.satisfied
    ]


_UNMET = {
    "start_construction": lambda t: exit_criteria_unmet(t, PhaseKind.SCOPING),
    "request_development_approval": lambda t: exit_criteria_unmet(t, PhaseKind.CONSTRUCTION),
    "approve_development": lambda t: gate_unmet(t, "development"),
    "request_executive_approval": lambda t: exit_criteria_unmet(t, PhaseKind.VERIFICATION),
    "approve_executive": lambda t: gate_unmet(t, "executive"),
    "deploy": lambda t: exit_criteria_unmet(t, PhaseKind.DEPLOYMENT),
}


def unmet_conditions(train: ReleaseTrain, name: str) -> list[str]:
    """What stands in the way of a step, in words; empty when nothing does."""
    check = _UNMET.get(name)
    return check(train) if check else []


def scoping_exit_met(train: ReleaseTrain) -> bool:
    return not unmet_conditions(train, "start_construction")


def construction_exit_met(train: ReleaseTrain) -> bool:
    return not unmet_conditions(train, "request_development_approval")


def verification_exit_met(train: ReleaseTrain) -> bool:
    return not unmet_conditions(train, "request_executive_approval")


def deployment_exit_met(train: ReleaseTrain) -> bool:
    return not unmet_conditions(train, "deploy")


def development_quorum_reached(train: ReleaseTrain) -> bool:
    return not unmet_conditions(train, "approve_development")


def executive_quorum_reached(train: ReleaseTrain) -> bool:
    return not unmet_conditions(train, "approve_executive")


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
