"""Templates, clones and schedules: a new train like another, a train kept as a named
template, trains made from a template by hand or on a cadence. Release managers only
(`access.may_create_trains`); the train being copied must be one they may see."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from releasemgr.exceptions import ServiceError
from trains import access
from trains.access import get_train_for_user
from trains.forms import (
    CloneForm,
    FromTemplateForm,
    SaveTemplateForm,
    ScheduleForm,
    TemplateForm,
    TrainForm,
)
from trains.models import CadenceSchedule, TrainTemplate
from trains.selectors import template_list, template_page
from trains.services import templates as services
from trains.views.common import attempt, form_errors

REFUSED = "Only release managers make trains, templates and schedules."


def _require_planner(request: HttpRequest) -> None:
    if not access.may_create_trains(request.user):
        raise PermissionDenied(REFUSED)


def _template(pk: int) -> TrainTemplate:
    template = TrainTemplate.objects.select_related("primary_manager").filter(pk=pk).first()
    if template is None:
        raise Http404("No such template.")
    return template


def _schedule(pk: int) -> CadenceSchedule:
    schedule = CadenceSchedule.objects.select_related("template").filter(pk=pk).first()
    if schedule is None:
        raise Http404("No such schedule.")
    return schedule


def _run(form, call) -> object | None:
    """Call a service with a valid form's data; its refusals go on the form's fields."""
    try:
        return call()
    except ValidationError as error:
        form.apply_errors(error)
    except ServiceError as error:
        form.add_error(None, str(error))
    return None


# Clone -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def train_clone_view(request: HttpRequest, pk: int) -> HttpResponse:
    """New train like this one: a start day, a name, and which next releases to add."""
    train = get_train_for_user(request.user, pk)
    _require_planner(request)
    offered = services.next_planned_releases(train)
    first_each = {}
    for release in offered:
        first_each.setdefault(release.application_id, str(release.pk))
    start = train.end_date + timedelta(days=1)
    form = CloneForm(
        request.POST or None,
        offered=offered,
        initial={"start_date": start, "releases": list(first_each.values())},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        new = _run(
            form,
            lambda: services.train_clone(
                train=train,
                by=request.user,
                start_date=data["start_date"],
                name=data["name"],
                releases=form.chosen_releases(),
            ),
        )
        if new is not None:
            messages.success(
                request, f"Train {new.name} made like {train.name}, starting {new.start_date}."
            )
            return redirect("train_detail", pk=new.pk)
    return render(
        request,
        "trains/train_clone.html",
        {
            "train": train,
            "form": form,
            "suggested_name": services.clone_name(train, start),
            "phases": list(train.phases.all()),
        },
    )


@login_required
@require_POST
def template_save_view(request: HttpRequest, pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk)
    _require_planner(request)
    form = SaveTemplateForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect("train_detail", pk=train.pk)
    template = None

    def save():
        nonlocal template
        template = services.template_save(train=train, by=request.user, **form.cleaned_data)

    if attempt(request, save):
        messages.success(request, f"Saved as template {template.name}.")
        return redirect("template_detail", pk=template.pk)
    return redirect("train_detail", pk=train.pk)


# Templates -----------------------------------------------------------------------------


@login_required
@require_GET
def template_list_view(request: HttpRequest) -> HttpResponse:
    _require_planner(request)
    return render(
        request,
        "trains/template_list.html",
        {"templates": template_list(), "use_form": FromTemplateForm()},
    )


def _detail(request: HttpRequest, template: TrainTemplate, **forms) -> HttpResponse:
    context = {
        "p": template_page(template),
        "schedule_form": ScheduleForm(initial={"cadence": "monthly_weekday", "ordinal": 1}),
        "use_form": FromTemplateForm(initial={"template": template.pk}),
        "ahead": settings.CADENCE_AHEAD,
        **forms,
    }
    return render(request, "trains/template_detail.html", context)


@login_required
@require_GET
def template_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_planner(request)
    return _detail(request, _template(pk))


@login_required
@require_http_methods(["GET", "POST"])
def template_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_planner(request)
    template = _template(pk)
    form = TemplateForm(request.POST or None, initial=TemplateForm.initial_for(template))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _run(form, lambda: services.template_update(template=template, by=request.user, **data)):
            messages.success(request, "Template saved.")
            return redirect("template_detail", pk=template.pk)
    return render(request, "trains/template_form.html", {"form": form, "template": template})


@login_required
@require_POST
def train_from_template_view(request: HttpRequest) -> HttpResponse:
    """Create from a template (the second form on /trains/new/ and the template's page)."""
    _require_planner(request)
    form = FromTemplateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        train = _run(
            form,
            lambda: services.train_from_template(
                template=data["template"],
                by=request.user,
                start_date=data["start_date"],
                name=data["name"],
            ),
        )
        if train is not None:
            messages.success(
                request,
                f"Train {train.name} made from template {data['template'].name}. Add its "
                "application releases below.",
            )
            return redirect("train_detail", pk=train.pk)
    blank = TrainForm(initial={"primary_manager": request.user})
    return render(
        request,
        "trains/train_form.html",
        {"form": blank, "train": None, "template_form": form},
        status=400,
    )


# Schedules -----------------------------------------------------------------------------


@login_required
@require_POST
def schedule_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_planner(request)
    template = _template(pk)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        schedule = _run(
            form, lambda: services.schedule_create(template=template, by=request.user, **data)
        )
        if schedule is not None:
            messages.success(
                request,
                "Schedule added. Its next trains are made within the hour "
                "(or at once: “Make the next trains now”).",
            )
            return redirect("template_detail", pk=template.pk)
    response = _detail(request, template, schedule_form=form)
    response.status_code = 400
    return response


@login_required
@require_http_methods(["GET", "POST"])
def schedule_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_planner(request)
    schedule = _schedule(pk)
    form = ScheduleForm(request.POST or None, initial=ScheduleForm.initial_for(schedule))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _run(form, lambda: services.schedule_update(schedule=schedule, by=request.user, **data)):
            messages.success(request, "Schedule saved.")
            return redirect("template_detail", pk=schedule.template_id)
    return render(request, "trains/schedule_form.html", {"form": form, "schedule": schedule})


@login_required
@require_POST
def schedule_pause_view(request: HttpRequest, pk: int) -> HttpResponse:
    """paused=1 pauses the schedule, paused=0 resumes it."""
    _require_planner(request)
    schedule = _schedule(pk)
    paused = request.POST.get("paused") != "0"
    attempt(
        request,
        lambda: services.schedule_set_paused(schedule=schedule, by=request.user, paused=paused),
        "Schedule paused: it makes no more trains." if paused else "Schedule resumed.",
    )
    return redirect("template_detail", pk=schedule.template_id)


@login_required
@require_POST
def schedule_run_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Make the schedule's next trains now rather than at beat's next run."""
    _require_planner(request)
    schedule = _schedule(pk)
    if schedule.paused:
        messages.error(request, "This schedule is paused: resume it to make its trains.")
        return redirect("template_detail", pk=schedule.template_id)
    made = services.schedule_run(schedule=schedule, today=timezone.localdate())
    schedule.refresh_from_db()
    if schedule.last_error:
        messages.error(request, schedule.last_error)
    elif not made:
        messages.info(request, "Its next trains were made already.")
    if made:
        messages.success(request, f"Made {', '.join(t.name for t in made)}.")
    return redirect("template_detail", pk=schedule.template_id)


@login_required
@require_POST
def schedule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_planner(request)
    schedule = _schedule(pk)
    attempt(
        request,
        lambda: services.schedule_delete(schedule=schedule, by=request.user),
        "Schedule removed. The trains it made stay.",
    )
    return redirect("template_detail", pk=schedule.template_id)
