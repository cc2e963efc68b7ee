"""Templates and cadence: a train's plan kept under a name, and schedules that make the
next trains from it ahead of time. Imported by trains/models.py (same app, `trains`).

A plan is a train with its dates as offsets from its start (trains/planning.py reads and
writes it): the window's length, the phase ends, the milestones and the criteria's due
dates, with the approval requirements, the exit criteria and the sharing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from releasemgr.history import AppendOnlyModel
from trains.choices import TrainType


class TrainTemplate(models.Model):
    """A named plan to make trains from ("Monthly minor train")."""

    name = models.CharField(max_length=120)
    name_pattern = models.CharField(
        max_length=120,
        help_text="How trains made from it are named, e.g. {year}.{month:02} Monthly train.",
    )
    train_type = models.CharField("type", max_length=20, choices=TrainType.choices)
    purpose = models.TextField(blank=True)
    primary_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="primary release manager",
    )
    duration_days = models.PositiveIntegerField(
        "window length (days)", help_text="Days from the train's start to its end."
    )
    plan = models.JSONField(default=dict, blank=True)
    source_train = models.ForeignKey(
        "trains.ReleaseTrain",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The train it was saved from.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="unique_template_name",
                violation_error_message="A template already has this name.",
            ),
            models.CheckConstraint(
                condition=~Q(name=""),
                name="template_has_a_name",
                violation_error_message="This cannot be empty.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TemplateEvent(AppendOnlyModel):
    """A template's history (and its schedules'): one row per change, old → new."""

    template = models.ForeignKey(TrainTemplate, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system acted (a schedule made a train).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["template", "-created_at"], name="template_event_recent")]

    def __str__(self) -> str:
        return f"{self.template}: {self.message}"


class Cadence(models.TextChoices):
    WEEKS = "weeks", "Every N weeks"
    MONTHLY_WEEKDAY = "monthly_weekday", "A weekday of every N months"
    QUARTERLY = "quarterly", "Quarterly"


class CadenceSchedule(models.Model):
    """When to make trains from a template: "first Monday of every month", "every 2
    weeks from 2027-01-04", "quarterly". The scan (trains.tasks.run_cadences) keeps the
    next CADENCE_AHEAD trains made; a paused schedule makes none."""

    template = models.ForeignKey(TrainTemplate, on_delete=models.PROTECT, related_name="schedules")
    cadence = models.CharField(max_length=20, choices=Cadence.choices)
    interval = models.PositiveSmallIntegerField(
        default=1, help_text="Every how many weeks or months (quarterly: ignored)."
    )
    ordinal = models.SmallIntegerField(
        null=True,
        blank=True,
        help_text="Which weekday of the month: 1 to 4, or -1 for the last.",
    )
    weekday = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="0 Monday … 6 Sunday."
    )
    start_date = models.DateField(help_text="The first train starts on or after this day.")
    end_date = models.DateField(null=True, blank=True, help_text="No train starts after it.")
    name_pattern = models.CharField(
        max_length=120, blank=True, help_text="Empty: the template's pattern."
    )
    paused = models.BooleanField(default=False)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Trains it makes are submitted in this person's name.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["template", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="schedule_ends_after_start",
                violation_error_message="The schedule cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(interval__gte=1),
                name="schedule_interval_positive",
                violation_error_message="The interval is at least 1.",
            ),
        ]
        indexes = [
            models.Index(fields=["id"], condition=Q(paused=False), name="schedule_running"),
        ]

    def __str__(self) -> str:
        from trains.planning import describe_schedule  # reads the schedule's fields

        return f"{self.template}: {describe_schedule(self)}"

    @property
    def pattern(self) -> str:
        return self.name_pattern or self.template.name_pattern


class ScheduledTrain(models.Model):
    """The train a schedule made for one window. The unique key (schedule, window) is
    what makes the cadence idempotent: a second run, or a second worker at once, finds
    the row (or fails to insert it) and makes no second train."""

    schedule = models.ForeignKey(
        CadenceSchedule, on_delete=models.CASCADE, related_name="made_trains"
    )
    window_start = models.DateField()
    train = models.OneToOneField(
        "trains.ReleaseTrain", on_delete=models.CASCADE, related_name="scheduled_by"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["schedule", "window_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "window_start"], name="one_train_per_schedule_window"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule.template} for {self.window_start}"
