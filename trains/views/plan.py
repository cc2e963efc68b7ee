"""Re-planning pages: move the dates with a reason, the baselines, the health override."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from releasemgr.exceptions import ServiceError
from trains import services
from trains.access import get_train_for_user
from trains.forms import HealthOverrideForm, PlanForm, ReasonForm
from trains.selectors.plan import baselines
from trains.status import train_status
from trains.views.common import attempt, form_errors
from trains.views.trains import back_to_panel


@login_required
@require_http_methods(["GET", "POST"])
def plan_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the train's dates and milestones, saying why."""
    train = get_train_for_user(request.user, pk, need="manage")
    if not train.is_open:
        messages.error(
            request, f"This train is {train.get_state_display().lower()}; it cannot change."
        )
        return redirect("train_detail", pk=train.pk)
    form = PlanForm(request.POST or None, train=train)
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_move(train=train, by=request.user, **form.service_kwargs())
        except ValidationError as error:
            form.apply_errors(error)
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Dates moved; the history has each old and new date.")
            return redirect("train_detail", pk=train.pk)
    status = train_status(train, request.user)
    return render(request, "trains/plan.html", {"train": train, "form": form, "status": status})


@login_required
@require_http_methods(["GET", "POST"])
def baselines_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: every baseline of the train, the old ones too. POST (managers): take a new one."""
    if request.method == "POST":
        train = get_train_for_user(request.user, pk, need="manage")
        form = ReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give a reason to take a new baseline.")
        else:
            attempt(
                request,
                lambda: services.baseline_take(
                    train=train, by=request.user, reason=form.cleaned_data["reason"]
                ),
                "New baseline taken: slip is measured against it from now on.",
            )
        return back_to_panel(request, train.pk, "plan")
    train = get_train_for_user(request.user, pk)
    return render(
        request,
        "trains/baselines.html",
        {"train": train, "baselines": baselines(train), "status": train_status(train)},
    )


@login_required
@require_POST
def health_override_view(request: HttpRequest, pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk, need="manage")
    form = HealthOverrideForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
    else:
        data = form.cleaned_data
        attempt(
            request,
            lambda: services.health_override_set(train=train, by=request.user, **data),
            f"Health set to {data['health']} until {data['until']:%Y-%m-%d}.",
        )
    return back_to_panel(request, train.pk, "plan")


@login_required
@require_POST
def health_clear_view(request: HttpRequest, pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk, need="manage")
    attempt(
        request,
        lambda: services.health_override_clear(
            train=train, by=request.user, reason=request.POST.get("reason", "")
        ),
        "Health override cleared: the computed health shows again.",
    )
    return back_to_panel(request, train.pk, "plan")
