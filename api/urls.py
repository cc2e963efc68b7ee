from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import pages, plan, views
from api import views_templates as templates

app_name = "api"

v1 = "api/v1/"
urlpatterns = [
    # REST API, v1 (stable paths: see the README)
    path(f"{v1}trains/", views.TrainListView.as_view(), name="trains"),
    path(f"{v1}trains/<int:pk>/", views.TrainDetailView.as_view(), name="train"),
    path(f"{v1}trains/<int:pk>/events/", views.TrainEventsView.as_view(), name="train_events"),
    path(
        f"{v1}trains/<int:pk>/transitions/<str:name>/",
        views.TrainTransitionView.as_view(),
        name="train_transition",
    ),
    path(f"{v1}trains/<int:pk>/criteria/", views.CriteriaView.as_view(), name="criteria"),
    path(
        f"{v1}criteria/<int:pk>/check/",
        views.CriterionCheckView.as_view(met=True),
        name="criterion_check",
    ),
    path(
        f"{v1}criteria/<int:pk>/uncheck/",
        views.CriterionCheckView.as_view(met=False),
        name="criterion_uncheck",
    ),
    path(
        f"{v1}criteria/<int:pk>/required/",
        views.CriterionRequiredView.as_view(),
        name="criterion_required",
    ),
    path(f"{v1}criteria/<int:pk>/", views.CriterionView.as_view(), name="criterion"),
    path(
        f"{v1}trains/<int:pk>/approval-requirements/",
        views.RequirementsView.as_view(),
        name="requirements",
    ),
    path(
        f"{v1}approval-requirements/<int:pk>/",
        views.RequirementView.as_view(),
        name="requirement",
    ),
    path(
        f"{v1}trains/<int:pk>/releases/", views.TrainReleasesView.as_view(), name="train_releases"
    ),
    path(
        f"{v1}trains/<int:pk>/releases/<int:release_pk>/remove/",
        views.TrainReleaseRemoveView.as_view(),
        name="train_release_remove",
    ),
    path(f"{v1}trains/<int:pk>/milestones/", views.MilestonesView.as_view(), name="milestones"),
    path(
        f"{v1}milestones/<int:pk>/reach/",
        views.MilestoneReachView.as_view(),
        name="milestone_reach",
    ),
    path(f"{v1}trains/<int:pk>/access/", views.TrainAccessView.as_view(), name="train_access"),
    path(
        f"{v1}trains/<int:pk>/access/<int:user_pk>/",
        views.TrainAccessRevokeView.as_view(),
        name="train_access_revoke",
    ),
    path(f"{v1}trains/<int:pk>/decisions/", views.DecisionsView.as_view(), name="decisions"),
    path(f"{v1}trains/<int:pk>/deployments/", views.DeploymentsView.as_view(), name="deployments"),
    path(f"{v1}trains/<int:pk>/plan/", plan.PlanView.as_view(), name="train_plan"),
    path(f"{v1}trains/<int:pk>/baselines/", plan.BaselinesView.as_view(), name="baselines"),
    path(
        f"{v1}trains/<int:pk>/scope-since-baseline/",
        plan.ScopeSinceBaselineView.as_view(),
        name="scope_since_baseline",
    ),
    path(
        f"{v1}trains/<int:pk>/health-override/",
        plan.HealthOverrideView.as_view(),
        name="health_override",
    ),
    path(f"{v1}inbox/", views.InboxView.as_view(), name="inbox"),
    path(f"{v1}freeze-windows/", views.FreezeWindowsView.as_view(), name="freeze_windows"),
    path(f"{v1}freeze-windows/<int:pk>/", views.FreezeWindowView.as_view(), name="freeze_window"),
    path(
        f"{v1}decision-links/<str:token>/",
        views.DecisionLinkView.as_view(),
        name="decision_link",
    ),
    path(f"{v1}metrics/", views.MetricsView.as_view(), name="metrics"),
    path(f"{v1}applications/", views.ApplicationsView.as_view(), name="applications"),
    path(f"{v1}application-releases/", views.ReleasesView.as_view(), name="releases"),
    path(
        f"{v1}application-releases/<int:pk>/transitions/<str:name>/",
        views.ReleaseTransitionView.as_view(),
        name="release_transition",
    ),
    path(
        f"{v1}application-releases/<int:pk>/move/",
        views.ReleaseMoveView.as_view(),
        name="release_move",
    ),
    path(f"{v1}turnovers/", views.TurnoversView.as_view(), name="turnovers"),
    path(
        f"{v1}turnovers/<int:pk>/accept/",
        views.TurnoverDecideView.as_view(accept=True),
        name="turnover_accept",
    ),
    path(
        f"{v1}turnovers/<int:pk>/reject/",
        views.TurnoverDecideView.as_view(accept=False),
        name="turnover_reject",
    ),
    path(f"{v1}webhooks/", views.WebhooksView.as_view(), name="webhooks"),
    path(f"{v1}webhooks/<int:pk>/", views.WebhookView.as_view(), name="webhook"),
    path(
        f"{v1}webhook-deliveries/<int:pk>/redeliver/",
        views.DeliveryRedeliverView.as_view(),
        name="webhook_redeliver",
    ),
    path(
        f"{v1}notification-preferences/",
        views.NotificationPreferencesView.as_view(),
        name="notification_preferences",
    ),
    path(
        f"{v1}notification-preferences/address/retry/",
        views.AddressRetryView.as_view(),
        name="address_retry",
    ),
    # Templates, clones and schedules (issue 14)
    path(f"{v1}templates/", templates.TemplatesView.as_view(), name="templates"),
    path(f"{v1}templates/<int:pk>/", templates.TemplateDetailView.as_view(), name="template"),
    path(
        f"{v1}templates/<int:pk>/events/",
        templates.TemplateEventsView.as_view(),
        name="template_events",
    ),
    path(
        f"{v1}templates/<int:pk>/trains/",
        templates.TemplateTrainsView.as_view(),
        name="template_trains",
    ),
    path(
        f"{v1}templates/<int:pk>/schedules/",
        templates.TemplateSchedulesView.as_view(),
        name="template_schedules",
    ),
    path(f"{v1}trains/<int:pk>/clone/", templates.TrainCloneView.as_view(), name="train_clone"),
    path(f"{v1}schedules/", templates.SchedulesView.as_view(), name="schedules"),
    path(f"{v1}schedules/<int:pk>/", templates.ScheduleDetailView.as_view(), name="schedule"),
    path(
        f"{v1}schedules/<int:pk>/pause/",
        templates.SchedulePauseView.as_view(paused=True),
        name="schedule_pause",
    ),
    path(
        f"{v1}schedules/<int:pk>/resume/",
        templates.SchedulePauseView.as_view(paused=False),
        name="schedule_resume",
    ),
    path(f"{v1}schedules/<int:pk>/run/", templates.ScheduleRunView.as_view(), name="schedule_run"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (?script): the
    # Content-Security-Policy allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^api/", views.not_found),  # anything else under /api/: a JSON 404
    # Feeds and exports
    re_path(
        r"^calendar/feed/(?P<token>[A-Za-z0-9_-]{1,100})\.ics$",
        pages.calendar_feed,
        name="calendar_feed",
    ),
    path("trains/export.csv", pages.trains_export, name="trains_export"),
    path("trains/<int:pk>/releases.csv", pages.releases_export, name="releases_export"),
    path("metrics/<slug:name>.csv", pages.metrics_export, name="metrics_export"),
    # Pages
    path("profile/", pages.profile, name="profile"),
    path("profile/tokens/", pages.token_create, name="token_create"),
    path("profile/tokens/<int:pk>/revoke/", pages.token_revoke, name="token_revoke"),
    path("profile/feed/regenerate/", pages.feed_regenerate, name="feed_regenerate"),
    path("webhooks/", pages.webhook_list, name="webhook_list"),
    path("webhooks/<int:pk>/", pages.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/active/", pages.webhook_set_active, name="webhook_set_active"),
    path("webhooks/<int:pk>/delete/", pages.webhook_delete, name="webhook_delete"),
    path(
        "webhooks/deliveries/<int:pk>/redeliver/",
        pages.delivery_redeliver,
        name="delivery_redeliver",
    ),
]
