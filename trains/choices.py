"""Labels and badge colours of the train's states and kinds, kept together."""

from django.db import models


class TrainState(models.TextChoices):
    SCOPING = "scoping", "Scoping"
    CONSTRUCTION = "construction", "Construction"
    DEVELOPMENT_APPROVAL = "development_approval", "Development approval"
    VERIFICATION = "verification", "Verification"
    EXECUTIVE_APPROVAL = "executive_approval", "Executive approval"
    DEPLOYMENT = "deployment", "Deployment"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


STATE_BADGES = {
    TrainState.SCOPING: "secondary",
    TrainState.CONSTRUCTION: "primary",
    TrainState.DEVELOPMENT_APPROVAL: "warning",
    TrainState.VERIFICATION: "info",
    TrainState.EXECUTIVE_APPROVAL: "warning",
    TrainState.DEPLOYMENT: "primary",
    TrainState.CLOSED: "success",
    TrainState.CANCELLED: "dark",
}

# Where a train stands, as the end of "This train is …": a state's label reads as a
# name ("Closed"), not as the words after "is".
STATE_WHERE = {
    TrainState.SCOPING: "in scoping",
    TrainState.CONSTRUCTION: "in construction",
    TrainState.DEVELOPMENT_APPROVAL: "awaiting development approval",
    TrainState.VERIFICATION: "in verification",
    TrainState.EXECUTIVE_APPROVAL: "awaiting executive approval",
    TrainState.DEPLOYMENT: "in deployment",
    TrainState.CLOSED: "closed",
    TrainState.CANCELLED: "cancelled",
}

FINAL_STATES = (TrainState.CLOSED, TrainState.CANCELLED)
OPEN_STATES = tuple(s for s in TrainState if s not in FINAL_STATES)


class TrainType(models.TextChoices):
    MAJOR = "major", "Major"
    MINOR = "minor", "Minor"
    PATCH = "patch", "Patch"
    EMERGENCY = "emergency", "Emergency"


class PhaseKind(models.TextChoices):
    SCOPING = "scoping", "Scoping"
    CONSTRUCTION = "construction", "Construction"
    VERIFICATION = "verification", "Verification"
    DEPLOYMENT = "deployment", "Deployment"


PHASE_ORDER = list(PhaseKind)

# The phase a train is in while in each state; gates belong to the phase they close.
STATE_PHASE = {
    TrainState.SCOPING: PhaseKind.SCOPING,
    TrainState.CONSTRUCTION: PhaseKind.CONSTRUCTION,
    TrainState.DEVELOPMENT_APPROVAL: PhaseKind.CONSTRUCTION,
    TrainState.VERIFICATION: PhaseKind.VERIFICATION,
    TrainState.EXECUTIVE_APPROVAL: PhaseKind.VERIFICATION,
    TrainState.DEPLOYMENT: PhaseKind.DEPLOYMENT,
}

# The state in which the work of each phase is done (criteria may be ticked there).
PHASE_WORK_STATE = {
    PhaseKind.SCOPING: TrainState.SCOPING,
    PhaseKind.CONSTRUCTION: TrainState.CONSTRUCTION,
    PhaseKind.VERIFICATION: TrainState.VERIFICATION,
    PhaseKind.DEPLOYMENT: TrainState.DEPLOYMENT,
}


class CriterionCheck(models.TextChoices):
    MANUAL = "manual", "Ticked by hand"
    PHASE_DATES_SET = "phase_dates_set", "Phase end dates set"
    APPROVALS_SET = "approvals_set", "Approval requirements set for both gates"
    HAS_RELEASES = "has_releases", "At least one application release"
    RELEASES_COMPLETE = "releases_complete", "All application releases development-complete"
    TURNOVERS_ACCEPTED = "turnovers_accepted", "All turnovers accepted"


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    TRANSITION = "transition", "Transition"
    DECISION = "decision", "Approval decision"
    CRITERION = "criterion", "Exit criterion"
    REQUIREMENT = "requirement", "Approval requirement"
    RELEASE = "release", "Application release"
    TURNOVER = "turnover", "Turnover"
    DEPLOYMENT = "deployment", "Deployment"
    MILESTONE = "milestone", "Milestone"
    ACCESS = "access", "Access"
    PLAN = "plan", "Plan"
    BASELINE = "baseline", "Baseline"
    HEALTH = "health", "Health"


class Health(models.TextChoices):
    """A train's health (red/amber/green); its badge colour beside it."""

    GREEN = "green", "Green"
    AMBER = "amber", "Amber"
    RED = "red", "Red"


HEALTH_BADGES = {Health.GREEN: "success", Health.AMBER: "warning", Health.RED: "danger"}


# Notifications and reminders --------------------------------------------------------


class NotificationKind(models.TextChoices):
    """What a message is about; each person chooses how to hear of each kind."""

    DEADLINE = "deadline", "Deadline coming up"
    OVERDUE = "overdue", "Deadline passed"
    ESCALATION = "escalation", "Overdue deadline escalated to approvers"
    APPROVAL_REQUESTED = "approval_requested", "Approval requested from you"
    REJECTED = "rejected", "Train rejected at a gate"
    TURNOVER_SUBMITTED = "turnover_submitted", "Turnover submitted"
    TURNOVER_DECIDED = "turnover_decided", "Turnover accepted or rejected"
    DEPLOYMENT_FAILED = "deployment_failed", "Deployment failed"
    TRAIN_CLOSED = "train_closed", "Train closed or cancelled"
    UPDATE = "update", "Other changes to your trains"


NOTIFICATION_HELP = {
    NotificationKind.DEADLINE: "A phase end, exit criterion or milestone is a few days away.",
    NotificationKind.OVERDUE: "Every day a deadline stays passed.",
    NotificationKind.ESCALATION: "A deadline passed long ago and you approve that train's gate.",
    NotificationKind.APPROVAL_REQUESTED: "A gate waits for your decision.",
    NotificationKind.REJECTED: "A train you work on was sent back, with the reason.",
    NotificationKind.TURNOVER_SUBMITTED: "A release was handed over and waits for acceptance.",
    NotificationKind.TURNOVER_DECIDED: "A release engineer accepted or rejected your turnover.",
    NotificationKind.DEPLOYMENT_FAILED: "A deployment attempt of a train you see failed.",
    NotificationKind.TRAIN_CLOSED: "A train you see was deployed or cancelled.",
    NotificationKind.UPDATE: "Releases added or removed, gates passed, other changes.",
}


class Delivery(models.TextChoices):
    EMAIL = "email", "E-mail at once"
    DIGEST = "digest", "Daily digest"
    OFF = "off", "Off"


# What someone must act on or hear of at once is mailed at once: a turnover's verdict (the
# owner resubmits a rejected one), a deployment's outcome (DEPLOYMENT_FAILED,
# TRAIN_CLOSED); the rest waits for the daily digest.
DEFAULT_DELIVERY = {kind: Delivery.EMAIL for kind in NotificationKind} | {
    NotificationKind.UPDATE: Delivery.DIGEST,
}


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    DIGEST = "digest", "Waiting for the daily digest"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not sent"


NOTIFICATION_BADGES = {
    NotificationStatus.PENDING: "secondary",
    NotificationStatus.DIGEST: "info",
    NotificationStatus.SENT: "success",
    NotificationStatus.FAILED: "danger",
    NotificationStatus.SKIPPED: "light",
}


class ReminderKind(models.TextChoices):
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue", "Overdue"
    ESCALATION = "escalation", "Escalation"


REMINDER_NOTIFICATION = {
    ReminderKind.DUE_SOON: NotificationKind.DEADLINE,
    ReminderKind.OVERDUE: NotificationKind.OVERDUE,
    ReminderKind.ESCALATION: NotificationKind.ESCALATION,
}


class ReminderTarget(models.TextChoices):
    PHASE = "phase", "Phase end"
    CRITERION = "criterion", "Exit criterion"
    MILESTONE = "milestone", "Milestone"
