from django.contrib import admin

from applications.models import Application, ApplicationRelease, Turnover


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["name", "product_owner", "created_at"]
    list_select_related = ["product_owner"]
    search_fields = ["name"]


@admin.register(ApplicationRelease)
class ApplicationReleaseAdmin(admin.ModelAdmin):
    list_display = ["__str__", "train", "state", "updated_at"]
    list_filter = ["state"]
    list_select_related = ["application", "train"]
    search_fields = ["application__name", "version"]
    readonly_fields = ["state", "train"]


@admin.register(Turnover)
class TurnoverAdmin(admin.ModelAdmin):
    list_display = ["release", "state", "submitted_by", "submitted_at", "decided_by"]
    list_filter = ["state"]
    list_select_related = ["release__application", "submitted_by", "decided_by"]
    readonly_fields = [f.name for f in Turnover._meta.fields]

    def has_add_permission(self, request):
        return False
