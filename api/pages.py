"""Pages and files of the api app: profile (tokens, feed), webhooks, the calendar feed
and the CSV exports. Objects are found through trains.access; changes go through
api.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from api import feeds, selectors, services
from api.forms import TokenForm, WebhookForm
from api.models import ApiToken, CalendarFeed, WebhookDelivery, WebhookSubscription
from releasemgr import broker, roles
from releasemgr.exceptions import ServiceError
from trains.access import get_train_for_user, trains_visible_to
from trains.filters import Show, TrainFilter, show_from
from trains.selectors import trains_shown

# Profile ------------------------------------------------------------------------------


def _profile(
    request: HttpRequest,
    *,
    form: TokenForm | None = None,
    new_token: str = "",
    new_feed_token: str = "",
):
    feed_url = ""
    if new_feed_token:
        feed_url = request.build_absolute_uri(
            reverse("api:calendar_feed", kwargs={"token": new_feed_token})
        )
    response = render(
        request,
        "api/profile.html",
        {
            "form": form or TokenForm(),
            "tokens": request.user.api_tokens.all(),
            "new_token": new_token,
            "feed": CalendarFeed.objects.filter(user=request.user).first(),
            "feed_url": feed_url,
            "is_release_manager": roles.has_role(request.user, roles.RELEASE_MANAGERS),
        },
    )
    if new_token or new_feed_token:
        # Shown on this response only: it is not stored and cannot be shown again.
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    return _profile(request)


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _profile(request, form=form)
    try:
        _, raw = services.token_create(user=request.user, name=form.cleaned_data["name"])
    except ValidationError as error:
        form.add_error(None, error)
        return _profile(request, form=form)
    return _profile(request, new_token=raw)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    services.token_revoke(token=token, by=request.user)
    messages.success(request, f"Token “{token.name}” revoked; it no longer works.")
    return redirect("api:profile")


@login_required
@require_POST
def feed_regenerate(request: HttpRequest) -> HttpResponse:
    """A new feed URL, shown on this answer only (the old one stops working)."""
    _, raw = services.feed_create(user=request.user)
    return _profile(request, new_feed_token=raw)


# Calendar feed and CSV exports --------------------------------------------------------------


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The secret URL is the credential: calendar clients send no session."""
    feed = services.feed_authenticate(token)
    if feed is None:
        raise Http404("No such calendar feed.")
    user = feed.user
    body = feeds.calendar_feed(
        selectors.calendar_trains(user=user),
        name=f"Release trains ({user.get_username()})",
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="release-trains.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


def _csv_response(body: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def trains_export(request: HttpRequest) -> HttpResponse:
    """The trains list as CSV, with the list page's filters and tab (same query string);
    every tab's trains when no tab is named."""
    filterset = TrainFilter(request.GET, queryset=trains_visible_to(request.user), request=request)
    if not filterset.is_valid():
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items())
        return HttpResponseBadRequest(f"Invalid filters: {problems}", content_type="text/plain")
    show = show_from(request.GET.get("show"), default=Show.ALL)
    trains = selectors.export_trains(
        queryset=trains_shown(filterset.qs, show=show, user=request.user)
    )
    stamp = timezone.localdate().isoformat()
    return _csv_response(feeds.trains_csv(trains), f"trains-{stamp}.csv")


@login_required
@require_GET
def releases_export(request: HttpRequest, pk: int) -> HttpResponse:
    train = get_train_for_user(request.user, pk)
    body = feeds.releases_csv(selectors.export_releases(train=train))
    return _csv_response(body, f"train-{train.pk}-releases.csv")


# Webhooks ------------------------------------------------------------------------------


def _require_release_manager(request: HttpRequest) -> None:
    if not roles.has_role(request.user, roles.RELEASE_MANAGERS):
        raise PermissionDenied("Only release managers manage webhooks.")


def _subscription(request: HttpRequest, pk: int) -> WebhookSubscription:
    _require_release_manager(request)
    return get_object_or_404(selectors.subscriptions_for(user=request.user), pk=pk)


@login_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    _require_release_manager(request)
    form = WebhookForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            subscription = services.subscription_create(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Webhook created. Copy its secret to verify signatures.")
            return redirect("api:webhook_detail", pk=subscription.pk)
    return render(
        request,
        "api/webhooks.html",
        {"form": form, "subscriptions": selectors.subscriptions_for(user=request.user)},
    )


@login_required
@require_GET
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    return render(
        request,
        "api/webhook_detail.html",
        {
            "subscription": subscription,
            "deliveries": selectors.recent_deliveries(subscription=subscription),
        },
    )


@login_required
@require_POST
def webhook_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    active = request.POST.get("active") == "1"
    services.subscription_set_active(subscription=subscription, by=request.user, active=active)
    messages.success(request, "Webhook turned on." if active else "Webhook paused.")
    return redirect("api:webhook_detail", pk=pk)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    services.subscription_delete(subscription=subscription, by=request.user)
    messages.success(request, "Webhook deleted.")
    return redirect("api:webhook_list")


@login_required
@require_POST
def delivery_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    _require_release_manager(request)
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("subscription"),
        pk=pk,
        subscription__in=selectors.subscriptions_for(user=request.user),
    )
    services.delivery_redeliver(delivery=delivery, by=request.user)
    from api.tasks import webhook_deliver

    # Due now in the database, so the sweep sends it if the broker is away.
    broker.publish(webhook_deliver, delivery.pk)
    messages.success(request, "Delivery queued again.")
    return redirect("api:webhook_detail", pk=delivery.subscription_id)


@login_required
@require_GET
def metrics_export(request: HttpRequest, name: str) -> HttpResponse:
    """The rows one metric was computed from, as CSV, for the metrics page's period and
    filters (same query string)."""
    from trains.selectors.metrics import ROWS, metric_rows
    from trains.views.insight import metrics_scope, require_metrics

    require_metrics(request.user)
    if name not in ROWS:
        raise Http404("No such metric.")
    scope = metrics_scope(request.user, request.GET)
    if scope.errors:
        return HttpResponseBadRequest(
            f"Invalid period or filters: {' '.join(scope.errors)}", content_type="text/plain"
        )
    rows = metric_rows(name, trains=scope.trains, period=scope.period)
    period = scope.period
    return _csv_response(
        feeds.rows_csv(ROWS[name].header, rows),
        f"{name}-{period.first:%Y-%m-%d}-{period.last:%Y-%m-%d}.csv",
    )
