"""The gates: approval requirements (set in scoping) and the approvers' decisions."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from approvals import services as approval_services
from approvals.models import ApprovalRequirement, Gate
from releasemgr.exceptions import (
    InvalidState,
    NotAllowed,
)
from releasemgr.people import name_of
from trains import access, facts, workflow
from trains.choices import (
    EventKind,
    TrainState,
    TrainType,
)
from trains.models import (
    ReleaseTrain,
)
from trains.services.common import User, lock_train, record, run_step


def requirement_add(
    *,
    train: ReleaseTrain,
    by: User,
    gate: str,
    user: User | None = None,
    group: Group | None = None,
    required_approvals: int = 1,
) -> ApprovalRequirement:
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers set approval requirements.")
    with transaction.atomic():
        locked = lock_train(train)
        _check_requirements_open(locked, gate)
        requirement = approval_services.requirement_create(
            train=locked,
            gate=gate,
            user=user,
            group=group,
            required_approvals=required_approvals,
            barred=access.barred_from_deciding(locked, gate),
            barred_reason=access.SEPARATION_OF_DUTIES,
        )
        record(
            locked,
            EventKind.REQUIREMENT,
            by,
            f"Added approver: {requirement}",
            data={"requirement": requirement.pk},
        )
    return requirement


def _check_requirements_open(train: ReleaseTrain, gate: str) -> None:
    """The gates of the train's life are set in scoping and locked after it; an exception
    gate (a freeze exception) is asked for by the trains that may have it, while it may
    still be decided (until the train is deployed)."""
    if gate in workflow.EXCEPTION_GATES:
        allowed = workflow.EXCEPTION_TRAIN_TYPES[gate]
        if train.train_type not in allowed:
            kinds = " or ".join(TrainType(t).label.lower() for t in allowed)
            raise ValidationError(
                {"gate": f"Only an {kinds} train can ask for a {Gate(gate).label.lower()}."}
            )
        if not train.is_open:
            raise InvalidState(
                f"This train is {train.get_state_display().lower()}; it cannot change."
            )
        return
    if train.state != TrainState.SCOPING:
        raise InvalidState("Approval requirements are set in scoping and locked after it.")


def requirement_gates_open(train: ReleaseTrain) -> list[str]:
    """The gates whose approval requirements may be added or removed now."""
    open_gates = []
    for gate in Gate:
        try:
            _check_requirements_open(train, gate)
        except (ValidationError, InvalidState):
            continue
        open_gates.append(gate.value)
    return open_gates


def requirements_check(train: ReleaseTrain) -> None:
    """Refuse, on its primary manager, a train whose approval requirements can no longer
    be met: the manager just named is one of its executive approvers, or was one of the
    few members of a group it asks for. Called on the locked train, after the change.
    Only the requirements that name the new manager are checked: the others did not
    change."""
    manager = train.primary_manager_id
    named = train.approval_requirements.filter(Q(user_id=manager) | Q(group__user__id=manager))
    for requirement in named.select_related("user", "group").order_by("id"):
        try:
            approval_services.requirement_check(
                requirement,
                barred=access.barred_from_deciding(train, requirement.gate),
                barred_reason=access.SEPARATION_OF_DUTIES,
            )
        except ValidationError as error:
            raise ValidationError(
                {
                    "primary_manager": (
                        f"{name_of(train.primary_manager)} cannot lead this train while "
                        f"it asks for their approval ({requirement}): " + " ".join(error.messages)
                    )
                }
            ) from None


def requirement_remove(*, requirement: ApprovalRequirement, by: User) -> None:
    train = requirement.train
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers set approval requirements.")
    with transaction.atomic():
        locked = lock_train(train)
        _check_requirements_open(locked, requirement.gate)
        label = str(requirement)
        approval_services.requirement_delete(requirement=requirement)
        record(locked, EventKind.REQUIREMENT, by, f"Removed approver: {label}")


def decision_snapshot(train: ReleaseTrain, requirement: ApprovalRequirement) -> dict:
    """What an approver saw when deciding, kept with the decision: the round, the
    gate's approvals so far, every exit criterion and application release."""
    gate = requirement.gate
    known = facts.facts_of(train)
    criteria = []
    for criterion in known.criteria:
        met, detail = workflow.criterion_status(criterion, known)
        criteria.append(
            {
                "id": criterion.pk,
                "phase": criterion.phase,
                "description": criterion.description,
                "required": criterion.required,
                "rule": criterion.rule,
                "met": met,
                "detail": "" if met else detail,
                "met_by": criterion.met_by or None,
                "met_at": criterion.met_at.isoformat() if criterion.met_at else None,
            }
        )
    return {
        "train": {"id": train.pk, "name": train.name, "state": train.state},
        "gate": gate,
        "round": train.round_for(gate),
        "gate_opened_at": train.gate_opened_at.isoformat() if train.gate_opened_at else None,
        "requirement": {"id": requirement.pk, "approver": requirement.approver_label},
        "approvals": [
            {
                "requirement": r.pk,
                "approver": r.label,
                "approvals": r.approvals,
                "rejections": r.rejections,
                "needed": r.needed,
            }
            for r in known.requirements
            if r.gate == gate
        ],
        "criteria": criteria,
        "releases": [
            {"id": r.pk, "release": str(r), "state": r.state}
            for r in train.application_releases.select_related("application").order_by("id")
        ],
    }


def decision_record(
    *,
    requirement: ApprovalRequirement,
    by: User,
    approve: bool,
    comment: str = "",
    expect_round: int | None = None,
):
    """Record one approver's decision; pass or reject the gate when that settles it.
    With `expect_round`, refuse when the gate is in another round by now (a decision
    from an e-mail's link is for the round it was sent in)."""
    gate = requirement.gate
    if not access.asks_for(by, requirement):
        raise NotAllowed("You are not one of the approvers this requirement asks for.")
    with transaction.atomic():
        train = lock_train(requirement.train)
        if train.state != workflow.GATE_STATE[gate]:
            raise InvalidState(
                f"{workflow.where(train.state)}, not waiting for {Gate(gate).label.lower()}."
            )
        if expect_round is not None and train.round_for(gate) != expect_round:
            raise InvalidState(
                f"This request was for round {expect_round}; the gate is in round "
                f"{train.round_for(gate)} now."
            )
        if not access.may_decide(by, requirement, train):
            raise NotAllowed(access.SEPARATION_OF_DUTIES)
        decision = approval_services.decision_create(
            requirement=requirement,
            round=train.round_for(gate),
            user=by,
            approve=approve,
            comment=comment,
            requested_at=train.gate_opened_at or timezone.now(),
            snapshot=decision_snapshot(train, requirement),
        )
        verdict = "approved" if approve else "rejected"
        record(
            train,
            EventKind.DECISION,
            by,
            f"{by.get_username()} {verdict} ({requirement.approver_label}, round "
            f"{decision.round})" + (f": {decision.comment}" if decision.comment else ""),
            data={
                "decision": decision.pk,
                "gate": gate,
                "round": decision.round,
                "approve": approve,
            },
        )
        if gate in workflow.EXCEPTION_GATES:
            pass  # it moves nothing: it allows a step (deploying in a freeze window)
        elif not approve:
            run_step(train, f"reject_{gate}", by, decision.comment)
        elif not workflow.unmet(train, f"approve_{gate}"):
            run_step(train, f"approve_{gate}", None, "All approval requirements met")
    return decision
