from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition


class Application(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    product_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_applications"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(name=""),
                name="application_has_a_name",
                violation_error_message="This cannot be empty.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ReleaseState(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_DEVELOPMENT = "in_development", "In development"
    DEVELOPMENT_COMPLETE = "development_complete", "Development complete"


RELEASE_BADGES = {
    ReleaseState.PLANNED: "secondary",
    ReleaseState.IN_DEVELOPMENT: "info",
    ReleaseState.DEVELOPMENT_COMPLETE: "success",
}


class ApplicationRelease(FSMModelMixin, models.Model):
    """One version of an application, delivered on (at most) one train."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="releases")
    version = models.CharField(max_length=60)
    train = models.ForeignKey(
        "trains.ReleaseTrain",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="application_releases",
    )
    state = FSMField(default=ReleaseState.PLANNED, choices=ReleaseState.choices, protected=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["application__name", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "version"],
                name="unique_application_version",
                violation_error_message="This application already has a release with that version.",
            ),
            models.CheckConstraint(
                condition=~Q(version=""),
                name="release_has_a_version",
                violation_error_message="This cannot be empty.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application.name} {self.version}"

    @property
    def badge(self) -> str:
        return RELEASE_BADGES[self.state]

    @transition(field=state, source=ReleaseState.PLANNED, target=ReleaseState.IN_DEVELOPMENT)
    def start_development(self) -> None:
        pass

    @transition(
        field=state, source=ReleaseState.IN_DEVELOPMENT, target=ReleaseState.DEVELOPMENT_COMPLETE
    )
    def complete_development(self) -> None:
        pass

    @transition(
        field=state, source=ReleaseState.DEVELOPMENT_COMPLETE, target=ReleaseState.IN_DEVELOPMENT
    )
    def reopen_development(self) -> None:
        pass


RELEASE_TRANSITIONS = {
    "start_development": "Start development",
    "complete_development": "Mark development complete",
    "reopen_development": "Reopen development",
}


class TurnoverState(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


TURNOVER_BADGES = {
    TurnoverState.SUBMITTED: "warning",
    TurnoverState.ACCEPTED: "success",
    TurnoverState.REJECTED: "danger",
}


class Turnover(FSMModelMixin, models.Model):
    """An application release handed from development to the release team."""

    release = models.ForeignKey(
        ApplicationRelease, on_delete=models.PROTECT, related_name="turnovers"
    )
    description = models.TextField(help_text="What is delivered: artefacts, notes, runbooks.")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    state = FSMField(default=TurnoverState.SUBMITTED, choices=TurnoverState.choices, protected=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            # At most one turnover per release waits for a decision at a time.
            models.UniqueConstraint(
                fields=["release"],
                condition=Q(state="submitted"),
                name="one_pending_turnover_per_release",
                violation_error_message="This release already has a turnover waiting for review.",
            ),
            models.CheckConstraint(
                condition=~Q(state="rejected") | ~Q(rejection_reason=""),
                name="turnover_rejection_has_reason",
                violation_error_message="A rejected turnover needs a reason.",
            ),
            # Decided turnovers say by whom and when; waiting ones do not.
            models.CheckConstraint(
                condition=Q(state="submitted", decided_at__isnull=True, decided_by__isnull=True)
                | (~Q(state="submitted") & Q(decided_at__isnull=False, decided_by__isnull=False)),
                name="turnover_decided_by_whom_and_when",
            ),
        ]

    def __str__(self) -> str:
        return f"Turnover of {self.release} ({self.get_state_display()})"

    @property
    def badge(self) -> str:
        return TURNOVER_BADGES[self.state]

    @transition(field=state, source=TurnoverState.SUBMITTED, target=TurnoverState.ACCEPTED)
    def accept(self) -> None:
        pass

    @transition(field=state, source=TurnoverState.SUBMITTED, target=TurnoverState.REJECTED)
    def reject(self) -> None:
        pass
