"""The admin shows everything to staff. It changes nothing behind the services' back:
trains move only through the actions below, which call trains.services.

It has no object-permission pages (django-guardian's `GuardedModelAdminMixin`): those
grant any permission to any user or group and write no history, where sharing on the
train's page (`services.train_grant`/`train_revoke`) checks who may grant what and
records each change. The change form links there instead."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from releasemgr.exceptions import ServiceError
from trains import services, workflow
from trains.models import (
    CadenceSchedule,
    Deployment,
    ExitCriterion,
    Milestone,
    Notification,
    Phase,
    ReleaseTrain,
    Reminder,
    TemplateEvent,
    TrainEvent,
    TrainTemplate,
    UndeliverableAddress,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class PhaseInline(ReadOnlyInline):
    model = Phase
    fields = ["kind", "planned_end", "actual_start", "actual_end"]


class CriterionInline(ReadOnlyInline):
    model = ExitCriterion
    fields = ["phase", "description", "rule", "required", "met_by", "met_at"]


class MilestoneInline(ReadOnlyInline):
    model = Milestone
    fields = ["name", "due_date", "reached_at"]


class DeploymentInline(ReadOnlyInline):
    model = Deployment
    fields = ["attempted_at", "attempted_by", "succeeded", "log"]


class EventInline(ReadOnlyInline):
    model = TrainEvent
    fields = ["created_at", "kind", "actor", "from_state", "to_state", "message"]


def _step_action(name: str, label: str):
    def action(modeladmin, request, queryset):
        moved = 0
        for train in queryset:
            try:
                services.train_transition(train=train, name=name, by=request.user)
                moved += 1
            except (ServiceError, ValidationError) as error:
                modeladmin.message_user(request, f"{train}: {error}", messages.ERROR)
        if moved:
            modeladmin.message_user(request, f"{label}: {moved} train(s) moved.")

    action.__name__ = name
    action.short_description = label
    return action


@admin.register(ReleaseTrain)
class ReleaseTrainAdmin(admin.ModelAdmin):
    list_display = ["name", "train_type", "state", "primary_manager", "start_date", "end_date"]
    list_filter = ["state", "train_type"]
    list_select_related = ["primary_manager"]
    search_fields = ["name"]
    fields = [
        "name",
        "purpose",
        "train_type",
        "primary_manager",
        "release_engineers",
        "start_date",
        "end_date",
        "state",
        "development_round",
        "executive_round",
        "gate_opened_at",
        "created_by",
        "created_at",
        "updated_at",
        "closed_at",
    ]
    # Read-only: trains are submitted and edited on their pages, where the services
    # validate the schedule and write the history; the admin only moves them on.
    readonly_fields = fields
    inlines = [PhaseInline, CriterionInline, MilestoneInline, DeploymentInline, EventInline]
    # The steps people take by hand that need no reason (cancelling does: on the page).
    actions = [
        _step_action(step.name, step.label)
        for step in workflow.STEPS.values()
        if step.via == workflow.Via.STEP and not step.needs_reason
    ]
    change_form_template = "admin/trains/releasetrain/change_form.html"

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """The train's page in the admin says which steps this person may take now, and
        what blocks them (workflow.available_steps, as on the train's page)."""
        train = self.get_object(request, object_id) if object_id else None
        extra_context = {
            **(extra_context or {}),
            "steps": workflow.available_steps(train, request.user) if train else [],
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request):
        # A train is submitted through trains.services.train_create (phases, criteria,
        # rights and history come with it).
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # trains are never deleted; cancel them

    def has_change_permission(self, request, obj=None):
        return False  # view only; the actions above need no change permission


@admin.register(TrainEvent)
class TrainEventAdmin(admin.ModelAdmin):
    """History is read-only everywhere, the admin included."""

    list_display = ["created_at", "train", "kind", "actor", "from_state", "to_state", "message"]
    list_filter = ["kind"]
    list_select_related = ["train", "actor"]
    search_fields = ["train__name", "message"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    """Reminders are facts; the scan writes them, nobody edits them."""

    list_display = ["day", "kind", "train", "target", "label", "due_date"]
    list_filter = ["kind", "target", "day"]
    list_select_related = ["train"]
    search_fields = ["train__name", "label"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The outbox, as workers left it; delivery changes it, the admin does not."""

    list_display = ["created_at", "train", "kind", "recipient", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["train", "recipient"]
    search_fields = ["train__name", "recipient__username", "address", "subject"]


@admin.register(UndeliverableAddress)
class UndeliverableAddressAdmin(admin.ModelAdmin):
    """Deleting a row tries the address again."""

    list_display = ["email", "created_at", "reason"]
    search_fields = ["email"]


# Templates and schedules: read here, changed on their pages (trains/views/templates.py).


class TemplateEventInline(ReadOnlyInline):
    model = TemplateEvent
    fields = ["created_at", "actor", "message"]


class ScheduleInline(ReadOnlyInline):
    model = CadenceSchedule
    fields = ["cadence", "interval", "ordinal", "weekday", "start_date", "end_date", "paused"]


@admin.register(TrainTemplate)
class TrainTemplateAdmin(ReadOnlyAdmin):
    list_display = ["name", "train_type", "name_pattern", "duration_days", "primary_manager"]
    search_fields = ["name"]
    inlines = [ScheduleInline, TemplateEventInline]
