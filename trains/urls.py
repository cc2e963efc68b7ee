from django.urls import path

from trains.views import applications, calendar, inbox, insight, templates, trains

urlpatterns = [
    path("trains/", trains.train_list_view, name="train_list"),
    path("trains/new/", trains.train_create_view, name="train_create"),
    path(
        "trains/new/from-template/",
        templates.train_from_template_view,
        name="train_from_template",
    ),
    path("trains/<int:pk>/", trains.train_detail_view, name="train_detail"),
    path("trains/<int:pk>/clone/", templates.train_clone_view, name="train_clone"),
    path("trains/<int:pk>/save-as-template/", templates.template_save_view, name="template_save"),
    path("trains/<int:pk>/edit/", trains.train_edit_view, name="train_edit"),
    path("trains/<int:pk>/history/", trains.history_view, name="train_history"),
    path(
        "trains/<int:pk>/deployments/<int:deployment_pk>/log/",
        trains.deployment_log_view,
        name="deployment_log",
    ),
    path("trains/<int:pk>/deploy/", trains.train_deploy_view, name="train_deploy"),
    path("trains/<int:pk>/decide/", trains.decision_view, name="train_decide"),
    path("trains/<int:pk>/criteria/", trains.criterion_add_view, name="criterion_add"),
    path(
        "trains/<int:pk>/criteria/<int:criterion_pk>/check/",
        trains.criterion_check_view,
        name="criterion_check",
    ),
    path(
        "trains/<int:pk>/criteria/<int:criterion_pk>/required/",
        trains.criterion_required_view,
        name="criterion_required",
    ),
    path(
        "trains/<int:pk>/criteria/<int:criterion_pk>/remove/",
        trains.criterion_remove_view,
        name="criterion_remove",
    ),
    path("trains/<int:pk>/requirements/", trains.requirement_add_view, name="requirement_add"),
    path(
        "trains/<int:pk>/requirements/<int:requirement_pk>/remove/",
        trains.requirement_remove_view,
        name="requirement_remove",
    ),
    path("trains/<int:pk>/releases/", trains.release_add_view, name="release_add"),
    path(
        "trains/<int:pk>/releases/<int:release_pk>/remove/",
        trains.release_remove_view,
        name="release_remove",
    ),
    path(
        "trains/<int:pk>/releases/<int:release_pk>/move/",
        trains.release_move_view,
        name="release_move",
    ),
    path("trains/<int:pk>/milestones/", trains.milestone_add_view, name="milestone_add"),
    path(
        "trains/<int:pk>/milestones/<int:milestone_pk>/reach/",
        trains.milestone_reach_view,
        name="milestone_reach",
    ),
    path("trains/<int:pk>/access/", trains.access_grant_view, name="access_grant"),
    path(
        "trains/<int:pk>/access/<int:user_pk>/revoke/",
        trains.access_revoke_view,
        name="access_revoke",
    ),
    # The manual steps of the train's life: POST /trains/<id>/<transition>/.
    path("trains/<int:pk>/<slug:transition>/", trains.train_step_view, name="train_step"),
    path("approvals/", inbox.inbox_view, name="inbox"),
    path("templates/", templates.template_list_view, name="template_list"),
    path("templates/<int:pk>/", templates.template_detail_view, name="template_detail"),
    path("templates/<int:pk>/edit/", templates.template_edit_view, name="template_edit"),
    path("templates/<int:pk>/schedules/", templates.schedule_add_view, name="schedule_add"),
    path("templates/schedules/<int:pk>/edit/", templates.schedule_edit_view, name="schedule_edit"),
    path(
        "templates/schedules/<int:pk>/pause/",
        templates.schedule_pause_view,
        name="schedule_pause",
    ),
    path("templates/schedules/<int:pk>/run/", templates.schedule_run_view, name="schedule_run"),
    path(
        "templates/schedules/<int:pk>/delete/",
        templates.schedule_delete_view,
        name="schedule_delete",
    ),
    path("approvals/link/<str:token>/", inbox.decision_link_view, name="decision_link"),
    path("calendar/", calendar.calendar_view, name="calendar"),
    path("metrics/", insight.metrics_view, name="metrics"),
    path("portfolio/", insight.portfolio_view, name="portfolio"),
    path("applications/", applications.application_list_view, name="application_list"),
    path("applications/<int:pk>/", applications.application_detail_view, name="application_detail"),
    path(
        "applications/releases/<int:pk>/turnover/",
        applications.turnover_submit_view,
        name="turnover_submit",
    ),
    path(
        "applications/releases/<int:pk>/<slug:transition>/",
        applications.release_step_view,
        name="release_step",
    ),
    path(
        "applications/turnovers/<int:pk>/<slug:verdict>/",
        applications.turnover_decide_view,
        name="turnover_decide",
    ),
]
