"""Commands on release trains: the only code that changes a train.

Each command checks permission, validates, locks the train row, changes it, writes
the history row and queues notifications, all in one transaction. `trains` is the
orchestrator: it calls the applications and approvals services, then moves the
train when its conditions now hold. One module a subject; callers import from here.
"""

from trains.services.criteria import (
    criterion_add,
    criterion_remove,
    criterion_set_met,
    criterion_set_required,
)
from trains.services.freezes import freeze_create, freeze_delete, freeze_update
from trains.services.gates import decision_record, requirement_add, requirement_remove
from trains.services.plan import (
    baseline_take,
    health_override_clear,
    health_override_set,
    plan_move,
)
from trains.services.releases import (
    EDITABLE_RELEASE_STATES,
    RELEASE_LEAVES_STATES,
    LeavesTrainEmpty,
    release_add,
    release_move,
    release_move_refusal,
    release_remove,
    release_step_refusal,
    release_transition,
    turnover_decide,
    turnover_decide_refusal,
    turnover_submit,
    turnover_submit_refusal,
)
from trains.services.trains import (
    TRAIN_FIELDS,
    milestone_add,
    milestone_reach,
    train_create,
    train_deploy,
    train_grant,
    train_revoke,
    train_transition,
    train_update,
    validate_schedule,
)

__all__ = [
    "EDITABLE_RELEASE_STATES",
    "RELEASE_LEAVES_STATES",
    "LeavesTrainEmpty",
    "TRAIN_FIELDS",
    "baseline_take",
    "health_override_clear",
    "health_override_set",
    "plan_move",
    "criterion_add",
    "criterion_remove",
    "criterion_set_met",
    "criterion_set_required",
    "decision_record",
    "freeze_create",
    "freeze_delete",
    "freeze_update",
    "milestone_add",
    "milestone_reach",
    "release_add",
    "release_move",
    "release_move_refusal",
    "release_remove",
    "release_step_refusal",
    "release_transition",
    "requirement_add",
    "requirement_remove",
    "train_create",
    "train_deploy",
    "train_grant",
    "train_revoke",
    "train_transition",
    "train_update",
    "turnover_decide",
    "turnover_decide_refusal",
    "turnover_submit",
    "turnover_submit_refusal",
    "validate_schedule",
]
