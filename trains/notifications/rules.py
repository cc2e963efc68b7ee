"""Which kind of notification a fact is, which gate an overdue deadline escalates to, and
when a deadline calls for a reminder.

Plain functions of the data, no queries: trains.services uses them when it writes the
outbox, and the reminder scan when it writes reminders.
"""

from __future__ import annotations

from datetime import date, timedelta

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


# When a deadline is reminded ---------------------------------------------------------------
#
# Before it: on each of REMINDER_OFFSETS_DAYS days ahead (7, 2 and 1). Once passed: every day
# for its first OVERDUE_DAILY_DAYS days, then every OVERDUE_EVERY_DAYS days, until it is
# done, its date moves or the train closes. A day on which no scan ran is caught up by the
# next scan: one reminder for what fell due in the gap, not one per day missed.
OVERDUE_DAILY_DAYS = 7
OVERDUE_EVERY_DAYS = 7


def reminded_since(*, due: date, today: date, offsets: list[int]) -> date | None:
    """A deadline on `due` needs a reminder today when it has had none since this day
    (None: not yet, it is further ahead than the first reminder)."""
    left = (due - today).days
    if left >= 0:
        ahead = [days for days in offsets if days >= max(left, 1)]
        # the last reminder day that came: `left` itself, or the missed one before it
        return due - timedelta(days=min(ahead)) if ahead else None
    if -left <= OVERDUE_DAILY_DAYS:
        return today
    # then weekly: none since the week's last daily one, and none within the last week
    return max(
        due + timedelta(days=OVERDUE_DAILY_DAYS), today - timedelta(days=OVERDUE_EVERY_DAYS - 1)
    )
