from django.contrib import admin

from approvals.models import ApprovalDecision, ApprovalRequirement


@admin.register(ApprovalRequirement)
class ApprovalRequirementAdmin(admin.ModelAdmin):
    """Read-only: requirements are set through the train (locked after scoping)."""

    list_display = ["train", "gate", "user", "group", "required_approvals"]
    list_filter = ["gate"]
    list_select_related = ["train", "user", "group"]
    readonly_fields = [f.name for f in ApprovalRequirement._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApprovalDecision)
class ApprovalDecisionAdmin(admin.ModelAdmin):
    """Decisions are history: shown, never edited."""

    list_display = ["requirement", "round", "user", "approve", "decided_at"]
    list_filter = ["approve", "requirement__gate"]
    list_select_related = ["requirement__train", "requirement__user", "requirement__group", "user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
