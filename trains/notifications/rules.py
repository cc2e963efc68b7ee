"""Which kind of notification a fact is, and which gate an overdue deadline escalates to.

Plain functions of the data, no queries: trains.services uses them when it writes the
outbox, and the reminder scan when it writes reminders.
"""

from __future__ import annotations

from approvals.models import Gate
from trains.choices import EventKind, NotificationKind, PhaseKind, TrainState

APPROVAL_REQUESTS = ("request_development_approval", "request_executive_approval")
REJECTIONS = ("reject_development", "reject_executive")

# An overdue deadline escalates to the approvers of the gate that closes its phase
# (deployment has no gate of its own: the executives let the train into it).
ESCALATION_GATE = {
    PhaseKind.SCOPING: Gate.DEVELOPMENT,
    PhaseKind.CONSTRUCTION: Gate.DEVELOPMENT,
    PhaseKind.VERIFICATION: Gate.EXECUTIVE,
    PhaseKind.DEPLOYMENT: Gate.EXECUTIVE,
}


def event_notification_kind(
    *, kind: str, transition: str = "", to_state: str = "", data: dict | None = None
) -> str:
    """The kind of notification a history row is, for preferences and wording."""
    if transition in APPROVAL_REQUESTS:
        return NotificationKind.APPROVAL_REQUESTED
    if transition in REJECTIONS:
        return NotificationKind.REJECTED
    if transition == "deploy":
        if to_state == TrainState.DEPLOYMENT:
            return NotificationKind.DEPLOYMENT_FAILED
        return NotificationKind.TRAIN_CLOSED
    if transition == "cancel":
        return NotificationKind.TRAIN_CLOSED
    if kind == EventKind.TURNOVER:
        if "accept" in (data or {}):
            return NotificationKind.TURNOVER_DECIDED
        return NotificationKind.TURNOVER_SUBMITTED
    return NotificationKind.UPDATE
