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
