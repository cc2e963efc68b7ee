"""The notification settings page and the sent-mail pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from releasemgr import roles
from releasemgr.exceptions import ServiceError
from trains import access
from trains.choices import NotificationStatus
from trains.notifications import selectors, services
from trains.notifications.forms import PreferencesForm

FILTERS = [
    ("", "All"),
    (NotificationStatus.SENT, "Sent"),
    (NotificationStatus.FAILED, "Failed"),
    ("waiting", "Waiting"),
    (NotificationStatus.SKIPPED, "Not sent"),
]
PAGE_SIZE = 50


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            services.preferences_set(user=request.user, choices=form.cleaned_data)
            messages.success(request, "Your notification settings are saved.")
            return redirect("notifications:preferences")
    else:
        form = PreferencesForm(initial=selectors.preferences_for(user=request.user))
    return render(
        request,
        "trains/notifications/preferences.html",
        {"form": form, "refused": selectors.undeliverable(address=request.user.email)},
    )


@login_required
@require_POST
def address_retry(request: HttpRequest) -> HttpResponse:
    try:
        services.undeliverable_clear(by=request.user, address=request.user.email)
    except ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Mail to {request.user.email} will be tried again.")
    return redirect("notifications:preferences")


def _may_read_mail(user) -> bool:
    return user.is_staff or roles.has_role(user, roles.RELEASE_MANAGERS)


@login_required
@require_GET
def sent_mail(request: HttpRequest) -> HttpResponse:
    if not _may_read_mail(request.user):
        raise PermissionDenied("Release managers and staff read the sent mail.")
    trains = selectors.mail_log_trains(user=request.user)
    return render(request, "trains/notifications/sent_mail.html", {"trains": trains})


@login_required
@require_GET
def sent_mail_train(request: HttpRequest, pk: int) -> HttpResponse:
    train = access.get_train_for_user(request.user, pk)
    if not (request.user.is_staff or access.can_manage(request.user, train)):
        raise PermissionDenied("Only the train's release managers and staff read its mail.")
    status = request.GET.get("status", "")
    if status not in dict(FILTERS):
        status = ""
    page = Paginator(selectors.train_mail_log(train=train, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "trains/notifications/sent_mail_train.html",
        {
            "train": train,
            "page": page,
            "status": status,
            "filters": FILTERS,
            "counts": selectors.train_mail_counts(train=train),
        },
    )
