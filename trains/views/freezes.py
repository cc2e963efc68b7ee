"""Freeze windows: every signed-in person sees them; staff and release managers keep them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from releasemgr.exceptions import ServiceError
from trains import access, services
from trains.forms import FreezeWindowForm, ReasonForm
from trains.models import FreezeWindow
from trains.selectors.freezes import freeze_page
from trains.views.common import attempt, form_errors


def _keeper(request: HttpRequest) -> None:
    if not access.may_keep_freezes(request.user):
        raise PermissionDenied(services.freezes.REFUSAL)


def _window(pk: int) -> FreezeWindow:
    window = FreezeWindow.objects.filter(pk=pk).first()
    if window is None:
        raise Http404("No such freeze window.")
    return window


@login_required
@require_http_methods(["GET", "POST"])
def freeze_list_view(request: HttpRequest) -> HttpResponse:
    """The windows, current and coming first; a keeper adds one here."""
    keeper = access.may_keep_freezes(request.user)
    form = FreezeWindowForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        _keeper(request)
        if form.is_valid():
            try:
                window = services.freeze_create(by=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.apply_errors(error)
            except ServiceError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Freeze window {window.label} added.")
                return redirect("freeze_list")
    return render(
        request,
        "trains/freezes.html",
        {"page": freeze_page(), "form": form if keeper else None, "keeper": keeper},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def freeze_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    _keeper(request)
    window = _window(pk)
    initial = {f: getattr(window, f) for f in ("name", "start", "end", "reason")}
    form = FreezeWindowForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            window = services.freeze_update(window=window, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.apply_errors(error)
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Freeze window {window.label} saved.")
            return redirect("freeze_list")
    return render(
        request,
        "trains/freeze_form.html",
        {"window": window, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def freeze_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    _keeper(request)
    window = _window(pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Give a reason to remove the freeze window. {form_errors(form)}")
    else:
        attempt(
            request,
            lambda: services.freeze_delete(
                window=window, by=request.user, reason=form.cleaned_data["reason"]
            ),
            f"Freeze window {window.name} removed.",
        )
    return redirect("freeze_list")
