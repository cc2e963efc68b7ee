"""The train pages: list, submit and edit, dashboard, and every action on a train."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from applications.models import ApplicationRelease
from approvals.models import ApprovalRequirement
from releasemgr.exceptions import ServiceError
from releasemgr.ids import MAX_ID, parse_id
from releasemgr.people import name_of
from trains import services, workflow
from trains.access import get_train_for_user, may_create_trains
from trains.choices import Health
from trains.filters import SHOW_STATES, Show, TrainFilter, query_with, show_from, shown
from trains.forms import (
    CriterionForm,
    CriterionRequiredForm,
    DecisionForm,
    DeployForm,
    FromTemplateForm,
    GrantForm,
    HealthOverrideForm,
    MilestoneForm,
    ReasonForm,
    ReleaseAddForm,
    ReleaseMoveForm,
    RequirementForm,
    TrainForm,
)
from trains.selectors import (
    CappedPaginator,
    dashboard_train,
    history_page,
    move_targets,
    needs_my_action,
    page_rows,
    train_dashboard,
    train_list,
    with_health,
)
from trains.selectors.plan import scope_since_baseline
from trains.services.gates import requirement_gates_open
from trains.views.common import attempt, form_errors, is_htmx

PAGE_SIZE = 25


@login_required
@require_GET
def train_list_view(request: HttpRequest) -> HttpResponse:
    """The trains one may see, in tabs: what needs this person (the default when anything
    does), open, closed and cancelled, all; the filters apply to every tab."""
    user = request.user
    filters = TrainFilter(request.GET, queryset=train_list(user=user))
    trains = filters.qs if filters.is_valid() else filters.queryset.none()
    needs = needs_my_action(trains, user=user)
    if needs.inbox is not None:
        request.inbox_summary = needs.inbox  # the navigation's count: read once
    show = show_from(request.GET.get("show"), default=Show.NEEDS if needs.rows else Show.OPEN)
    health = request.GET.get("health", "")
    health = health if health in Health.values else ""
    healthy = None
    if health and show != Show.NEEDS:
        healthy = with_health(shown(trains, show), health, user=user)
        page = Paginator(healthy.rows, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page)
    elif show == Show.NEEDS:
        page = Paginator(needs.rows, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page)
    else:
        tab = shown(trains, show)
        page = CappedPaginator(tab, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = page_rows(tab, page, user=user)
    # The tabs keep the other filters but not the states (each tab offers its own).
    others = request.GET.copy()
    for key in ("page", "show", "state"):
        others.pop(key, None)
    query = request.GET.copy()  # this tab, as its pages and the CSV link carry it
    query.pop("page", None)
    picked = request.GET.getlist("state")
    return render(
        request,
        "trains/train_list.html",
        {
            "filters": filters,
            "show": show,
            "Show": Show,
            "tabs": [
                {
                    "label": tab.label,
                    "query": query_with(others, show=tab),
                    "active": tab == show,
                    "count": needs.count_label if tab == Show.NEEDS else "",
                }
                for tab in Show
            ],
            "states": [
                {"value": state, "label": state.label, "checked": state in picked}
                for state in SHOW_STATES[show]
            ],
            "needs": needs,
            "health": health,
            "healths": Health.choices,
            "healthy": healthy,
            "page": page,
            "rows": rows,
            "query": query_with(query, show=show),
            "can_create": may_create_trains(user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def train_create_view(request: HttpRequest) -> HttpResponse:
    if not may_create_trains(request.user):
        raise PermissionDenied("Only release managers can submit trains.")
    form = TrainForm(request.POST or None, initial={"primary_manager": request.user})
    if request.method == "POST" and form.is_valid():
        try:
            train = services.train_create(by=request.user, **form.service_kwargs())
        except ValidationError as error:
            form.apply_errors(error)
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"Train {train.name} submitted. Set its approvers, "
                "exit criteria and application releases below.",
            )
            if warning := form.freeze_warning():
                messages.warning(request, warning)
            return redirect("train_detail", pk=train.pk)
    return render(
        request,
        "trains/train_form.html",
        {
            "form": form,
            "train": None,
            "template_form": FromTemplateForm(),
            "freeze_warning": form.freeze_warning(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def train_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk, need="manage")
    if not train.is_open:
        messages.error(request, f"{workflow.where(train.state)}; it cannot change.")
        return redirect("train_detail", pk=train.pk)
    form = TrainForm(request.POST or None, initial=TrainForm.initial_for(train))
    if request.method == "POST" and form.is_valid():
        data = form.service_kwargs()
        try:
            services.train_update(
                train=train,
                by=request.user,
                phase_ends=data.pop("phase_ends"),
                release_engineers=data.pop("release_engineers"),
                **data,
            )
        except ValidationError as error:
            form.apply_errors(error)
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Train updated.")
            if warning := form.freeze_warning():
                messages.warning(request, warning)
            return redirect("train_detail", pk=train.pk)
    return render(
        request,
        "trains/train_form.html",
        {"form": form, "train": train, "freeze_warning": form.freeze_warning()},
    )


def _dashboard_context(request: HttpRequest, train) -> dict:
    gates = requirement_gates_open(train)
    return {
        "d": train_dashboard(train=train, user=request.user),
        "scope_changes": scope_since_baseline(train),
        "health_form": HealthOverrideForm(),
        "may_plan": may_create_trains(request.user),
        "criterion_form": CriterionForm(),
        "requirement_form": RequirementForm(gates=gates) if gates else None,
        "milestone_form": MilestoneForm(),
        "grant_form": GrantForm(),
        "deploy_form": DeployForm(),
    }


@login_required
@require_GET
def train_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    train = dashboard_train(request.user, pk)
    return render(request, "trains/train_detail.html", _dashboard_context(request, train))


def _back(request: HttpRequest, train, panel: str) -> HttpResponse:
    return back_to_panel(request, train.pk, panel)


def shown_state(request: HttpRequest) -> str:
    """The train's state on the page the person acted from: every form on a train's page
    sends it (a hidden `state`), so that a change made meanwhile by someone else is seen
    (the lock compares it, trains.services.common.lock_train). Empty when none was sent."""
    return request.POST.get("state", "")


def back_to_panel(request: HttpRequest, train_pk: int, panel: str) -> HttpResponse:
    """After an action on a train's page: the refreshed panel for htmx (a reload when the
    train moved meanwhile), else the dashboard at that panel."""
    train = dashboard_train(request.user, train_pk)
    if is_htmx(request):
        shown = shown_state(request)
        if shown and shown != train.state:
            # The train moved (a gate passed, a step was taken): every panel changed.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("train_detail", args=[train.pk])
            return response
        context = _dashboard_context(request, train)
        context["oob"] = True
        return render(request, f"trains/_panel_{panel}.html", context)
    return redirect(reverse("train_detail", args=[train.pk]) + f"#{panel}")


def _add(request: HttpRequest, train, form_class, service, panel: str, success: str):
    """Validate a small form from a dashboard panel and pass its data to a service."""
    form = form_class(request.POST)
    if form.is_valid():
        attempt(
            request, lambda: service(train=train, by=request.user, **form.cleaned_data), success
        )
    else:
        messages.error(request, form_errors(form))
    return _back(request, train, panel)


@login_required
@require_POST
def train_step_view(request: HttpRequest, pk: int, transition: str) -> HttpResponse:
    """POST /trains/<id>/<transition>/ — the manual steps of the train's life."""
    if transition not in workflow.MANUAL_STEPS:
        raise Http404("No such step.")
    train = get_train_for_user(request.user, pk)
    step = workflow.STEPS[transition]
    reason = ""
    if step.needs_reason:
        form = ReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"Give a reason to {step.label.lower()}.")
            return redirect("train_detail", pk=train.pk)
        reason = form.cleaned_data["reason"]
    attempt(
        request,
        lambda: services.train_transition(
            train=train,
            name=transition,
            by=request.user,
            reason=reason,
            shown_state=shown_state(request),
        ),
        f"{step.label}: done.",
    )
    return redirect("train_detail", pk=train.pk)


@login_required
@require_POST
def train_deploy_view(request: HttpRequest, pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk, need="deploy")
    form = DeployForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect("train_detail", pk=train.pk)
    succeeded = form.cleaned_data["succeeded"]
    attempt(
        request,
        lambda: services.train_deploy(
            train=train,
            by=request.user,
            succeeded=succeeded,
            log=form.cleaned_data["log"],
            shown_state=shown_state(request),
        ),
        "Deployment succeeded: the train is closed."
        if succeeded
        else "Deployment failure recorded; the train stays in deployment.",
    )
    return redirect("train_detail", pk=train.pk)


# Criteria ---------------------------------------------------------------------------


def _on_train(related, pk: int, what: str):
    """One row of a train's related list (criteria, releases, …), or 404."""
    obj = related.filter(pk=pk).first()
    if obj is None:
        raise Http404(f"No such {what} on this train.")
    return obj


@login_required
@require_POST
def criterion_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk, need="manage")
    return _add(
        request, train, CriterionForm, services.criterion_add, "criteria", "Exit criterion added."
    )


@login_required
@require_POST
def criterion_check_view(request: HttpRequest, pk: int, criterion_pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk)
    criterion = _on_train(train.criteria, criterion_pk, "criterion")
    met = request.POST.get("met") == "1"
    attempt(
        request, lambda: services.criterion_set_met(criterion=criterion, by=request.user, met=met)
    )
    return _back(request, train, "criteria")


@login_required
@require_POST
def criterion_required_view(request: HttpRequest, pk: int, criterion_pk: int) -> HttpResponse:
    """Make a criterion required (required=1) or optional (required=0)."""
    train = get_train_for_user(request.user, pk, need="manage")
    criterion = _on_train(train.criteria, criterion_pk, "criterion")
    form = CriterionRequiredForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
    else:
        required = form.cleaned_data["required"]
        attempt(
            request,
            lambda: services.criterion_set_required(
                criterion=criterion, by=request.user, required=required
            ),
            f"Exit criterion made {'required' if required else 'optional'}.",
        )
    return _back(request, train, "criteria")


@login_required
@require_POST
def criterion_remove_view(request: HttpRequest, pk: int, criterion_pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk, need="manage")
    criterion = _on_train(train.criteria, criterion_pk, "criterion")
    attempt(
        request,
        lambda: services.criterion_remove(criterion=criterion, by=request.user),
        "Exit criterion removed.",
    )
    return _back(request, train, "criteria")


# Approvals ----------------------------------------------------------------------------


@login_required
@require_POST
def requirement_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk, need="manage")
    return _add(
        request,
        train,
        RequirementForm,
        services.requirement_add,
        "approvals",
        "Approval requirement added.",
    )


@login_required
@require_POST
def requirement_remove_view(request: HttpRequest, pk: int, requirement_pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk, need="manage")
    requirement = _on_train(train.approval_requirements, requirement_pk, "approval requirement")
    attempt(
        request,
        lambda: services.requirement_remove(requirement=requirement, by=request.user),
        "Approval requirement removed.",
    )
    return _back(request, train, "approvals")


@login_required
@require_POST
def decision_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject, from the dashboard or the inbox (next= brings you back)."""
    train = get_train_for_user(request.user, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
    else:
        requirement = ApprovalRequirement.objects.filter(
            train=train, pk=form.cleaned_data["requirement"]
        ).first()
        if requirement is None:
            raise Http404("No such approval requirement on this train.")
        approve = form.cleaned_data["approve"]
        attempt(
            request,
            lambda: services.decision_record(
                requirement=requirement,
                by=request.user,
                approve=approve,
                comment=form.cleaned_data["comment"],
            ),
            f"{'Approved' if approve else 'Rejected'}: {train.name}.",
        )
    next_url = request.POST.get("next", "")
    if next_url == "inbox":
        return redirect("inbox")
    return _back(request, train, "approvals")


# Application releases on the train ------------------------------------------------------------


@login_required
@require_POST
def release_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk, need="manage")
    form = ReleaseAddForm(request.POST)
    release = None
    if form.is_valid():
        release = ApplicationRelease.objects.filter(pk=form.cleaned_data["release"]).first()
    if release is None:
        messages.error(
            request, f"Choose an application release to add. {form_errors(form)}".strip()
        )
    else:
        attempt(
            request,
            lambda: services.release_add(train=train, release=release, by=request.user),
            f"{release} added to the train.",
        )
    return _back(request, train, "releases")


@login_required
@require_POST
def release_remove_view(request: HttpRequest, pk: int, release_pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk, need="manage")
    release = _on_train(train.application_releases, release_pk, "application release")
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason to remove the release.")
    else:
        attempt(
            request,
            lambda: services.release_remove(
                train=train, release=release, by=request.user, reason=form.cleaned_data["reason"]
            ),
            f"{release} removed from the train.",
        )
    return _back(request, train, "releases")


@login_required
@require_http_methods(["GET", "POST"])
def release_move_view(request: HttpRequest, pk: int, release_pk: int) -> HttpResponse:
    """Move a release that missed this train to another one. The page says before the
    move when it would leave this train with no release, and asks to confirm."""
    train = get_train_for_user(request.user, pk, need="manage")
    release = _on_train(
        train.application_releases.select_related("application"),
        release_pk,
        "application release",
    )
    refusal = services.release_move_refusal(source=train, target=None, by=request.user)
    if refusal is not None:
        messages.error(request, str(refusal))
        return redirect(reverse("train_detail", args=[train.pk]) + "#releases")
    targets = move_targets(train=train, user=request.user)
    form = ReleaseMoveForm(request.POST if request.method == "POST" else None, targets=targets)
    if request.method == "POST" and form.is_valid():
        target = form.cleaned_data["to_train"]
        try:
            services.release_move(
                release=release,
                to_train=target,
                by=request.user,
                reason=form.cleaned_data["reason"],
                leave_empty=form.cleaned_data["leave_empty"],
            )
        except services.LeavesTrainEmpty as error:
            form.add_error("leave_empty", str(error))
        except ValidationError as error:
            form.apply_errors(error)
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{release} moved to {target.name}.")
            return redirect(reverse("train_detail", args=[train.pk]) + "#releases")
    last = train.is_open and not train.application_releases.exclude(pk=release.pk).exists()
    return render(
        request,
        "trains/release_move.html",
        {
            "train": train,
            "release": release,
            "form": form,
            "last": last,
            "has_targets": targets.exists(),
        },
        status=400 if form.errors else 200,
    )


# Milestones, access, history ------------------------------------------------------------------


@login_required
@require_POST
def milestone_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk, need="manage")
    return _add(
        request, train, MilestoneForm, services.milestone_add, "milestones", "Milestone added."
    )


@login_required
@require_POST
def milestone_reach_view(request: HttpRequest, pk: int, milestone_pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk, need="manage")
    milestone = _on_train(train.milestones, milestone_pk, "milestone")
    attempt(
        request,
        lambda: services.milestone_reach(milestone=milestone, by=request.user),
        f"Milestone {milestone} reached.",
    )
    return _back(request, train, "milestones")


@login_required
@require_POST
def access_grant_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Share the train. A refusal comes back beside the field, with what was typed."""
    train = get_train_for_user(request.user, pk, need="manage")
    form = GrantForm(request.POST)
    if form.is_valid():
        user, level = form.cleaned_data["user"], form.cleaned_data["level"]
        try:
            services.train_grant(train=train, by=request.user, user=user, level=level)
        except ValidationError as error:
            form.add_error("username", error.messages)
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{name_of(user)} may now {level} this train.")
            return _back(request, train, "access")
    train = dashboard_train(request.user, train.pk)
    context = {**_dashboard_context(request, train), "grant_form": form}
    if is_htmx(request):
        return render(request, "trains/_panel_access.html", {**context, "oob": True})
    return render(request, "trains/train_detail.html", context)


@login_required
@require_POST
def access_revoke_view(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk, need="manage")
    user = get_user_model().objects.filter(pk=user_pk).first()
    if user is None:
        raise Http404("No such user.")
    attempt(
        request,
        lambda: services.train_revoke(train=train, by=request.user, user=user),
        f"{name_of(user)} no longer sees this train.",
    )
    return _back(request, train, "access")


@login_required
@require_GET
def history_view(request: HttpRequest, pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk)
    before = request.GET.get("before", "").strip()
    try:
        before_id = parse_id(before) if before else None
    except ValidationError:
        return HttpResponse(
            "?before= names the event to page back from, a whole number from 1 to "
            f"{MAX_ID}; leave it out for the newest events.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    events, more = history_page(train=train, before_id=before_id)
    template = "trains/_history_rows.html" if is_htmx(request) else "trains/history.html"
    return render(
        request,
        template,
        {"train": train, "events": events, "more": more, "older": before_id is not None},
    )


@login_required
@require_GET
def deployment_log_view(request: HttpRequest, pk: int, deployment_pk: int) -> HttpResponse:
    """One deployment's whole log: the dashboard shows only its end."""
    train = get_train_for_user(request.user, pk)
    deployment = _on_train(
        train.deployments.select_related("attempted_by"), deployment_pk, "deployment"
    )
    return render(request, "trains/deployment_log.html", {"train": train, "deployment": deployment})
