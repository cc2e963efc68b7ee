"""Application pages. They live here, not in applications/, because moving a release
or deciding a turnover goes through the trains orchestration (applications never
imports trains)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from applications import services as application_services
from applications.forms import ApplicationForm, ReleaseForm, TurnoverForm, TurnoverRejectForm
from applications.models import RELEASE_TRANSITIONS, ApplicationRelease, Turnover, TurnoverState
from releasemgr import roles
from releasemgr.exceptions import ServiceError
from trains import services
from trains.access import trains_visible_to
from trains.selectors import application_releases, applications_for, turnovers_waiting
from trains.selectors.applications import uses_applications
from trains.views.common import attempt, form_errors
from trains.views.trains import back_to_panel


def _require_app_role(user) -> None:
    if not uses_applications(user):
        raise PermissionDenied(
            "Applications are for product owners, release managers and release engineers."
        )


def _application(user, pk: int):
    application = applications_for(user=user).filter(pk=pk).first()
    if application is None:
        raise Http404("No such application.")
    return application


@login_required
@require_http_methods(["GET", "POST"])
def application_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_app_role(user)
    can_create = roles.has_role(user, roles.RELEASE_MANAGERS) or roles.has_role(
        user, roles.PRODUCT_OWNERS
    )
    form = ApplicationForm(request.POST or None, initial={"product_owner": user})
    if request.method == "POST":
        if not can_create:
            raise PermissionDenied(
                "Only release managers and product owners register applications."
            )
        if form.is_valid():
            try:
                app = application_services.application_create(by=user, **form.cleaned_data)
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except ServiceError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Application {app.name} registered.")
                return redirect("application_detail", pk=app.pk)
    turnovers = None
    if roles.has_role(user, roles.RELEASE_ENGINEERS):
        turnovers = list(turnovers_waiting(user=user))
        request.turnovers_waiting = len(turnovers)  # the navigation's badge: no second count
    return render(
        request,
        "applications/application_list.html",
        {
            "applications": applications_for(user=user),
            "form": form if can_create else None,
            "turnovers": turnovers,
            "reject_form": TurnoverRejectForm(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def application_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    _require_app_role(user)
    application = _application(user, pk)
    owner = application_services.can_own(user, application)
    may_add = owner or roles.has_role(user, roles.RELEASE_MANAGERS)
    form = ReleaseForm(request.POST or None)
    if request.method == "POST":
        if not may_add:
            raise PermissionDenied("Only the product owner or a release manager adds releases.")
        if form.is_valid():
            try:
                release = application_services.release_create(
                    by=user, application=application, **form.cleaned_data
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except ServiceError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Release {release} added.")
                return redirect("application_detail", pk=application.pk)
    return render(
        request,
        "applications/application_detail.html",
        {
            "application": application,
            "releases": application_releases(application=application, user=user),
            "form": form if may_add else None,
            "turnover_form": TurnoverForm(),
        },
    )


def _release(user, pk: int) -> ApplicationRelease:
    release = (
        ApplicationRelease.objects.select_related("application", "train")
        .filter(pk=pk, application__in=applications_for(user=user))
        .first()
    )
    if release is None:
        raise Http404("No such application release.")
    return release


def _done(request: HttpRequest, release: ApplicationRelease, elsewhere) -> HttpResponse:
    """Back where the action was taken: the train's releases when it came from the train's
    page (next=train), else `elsewhere`."""
    if request.POST.get("next") == "train" and release.train_id:
        return back_to_panel(request, release.train_id, "releases")
    return elsewhere


@login_required
@require_POST
def release_step_view(request: HttpRequest, pk: int, transition: str) -> HttpResponse:
    if transition not in RELEASE_TRANSITIONS:
        raise Http404("No such step.")
    release = _release(request.user, pk)
    attempt(
        request,
        lambda: services.release_transition(release=release, name=transition, by=request.user),
        f"{release}: {RELEASE_TRANSITIONS[transition].lower()} — done.",
    )
    return _done(request, release, redirect("application_detail", pk=release.application_id))


@login_required
@require_POST
def turnover_submit_view(request: HttpRequest, pk: int) -> HttpResponse:
    release = _release(request.user, pk)
    form = TurnoverForm(request.POST)
    if form.is_valid():
        attempt(
            request,
            lambda: services.turnover_submit(
                release=release, by=request.user, description=form.cleaned_data["description"]
            ),
            f"Turnover of {release} submitted to the release engineers.",
        )
    else:
        messages.error(request, form_errors(form))
    return _done(request, release, redirect("application_detail", pk=release.application_id))


@login_required
@require_POST
def turnover_decide_view(request: HttpRequest, pk: int, verdict: str) -> HttpResponse:
    """Accept or reject a turnover, from the queue under Applications or from the train's
    releases (next=train brings you back there)."""
    if verdict not in ("accept", "reject"):
        raise Http404("No such decision.")
    turnover = turnovers_waiting(user=request.user).filter(pk=pk).first()
    if turnover is None:
        decided = (
            Turnover.objects.filter(pk=pk, release__train__in=trains_visible_to(request.user))
            .exclude(state=TurnoverState.SUBMITTED)
            .select_related("release")
            .first()
        )
        if decided is not None:  # only of a turnover the user may see: else it is a 404
            messages.error(request, "This turnover was already decided.")
            return _done(request, decided.release, redirect("application_list"))
        raise Http404("No such turnover waiting.")
    back = redirect("application_list")
    if verdict == "reject":
        form = TurnoverRejectForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give a reason to reject the turnover.")
            return _done(request, turnover.release, back)
        reason = form.cleaned_data["reason"]
    else:
        reason = ""
    attempt(
        request,
        lambda: services.turnover_decide(
            turnover=turnover, by=request.user, accept=verdict == "accept", reason=reason
        ),
        f"Turnover of {turnover.release} {verdict}ed.",
    )
    return _done(request, turnover.release, back)
