"""Pages across trains: the delivery metrics (and the portfolio timeline)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from trains.access import VIEW, may_see_metrics, trains_for
from trains.choices import TrainState
from trains.filters import InsightFilter, query_with
from trains.forms import PeriodForm
from trains.selectors.metrics import SNAPSHOT_SECONDS, Period, metrics_snapshot
from trains.selectors.metrics_page import metric_cards
from trains.selectors.portfolio import GroupBy, Window, Zoom, portfolio

NO_METRICS = "Delivery metrics are for release managers and executives."


@dataclass
class MetricsScope:
    """What a metrics request asks for: the period and the filtered trains, as the page,
    its CSV downloads and the API read them from the same query string."""

    period_form: PeriodForm
    filters: InsightFilter
    period: Period
    trains: QuerySet

    @property
    def errors(self) -> list[str]:
        problems = [str(e) for e in self.period_form.non_field_errors()]
        for form in (self.period_form, self.filters.form):
            for name, errors in form.errors.items():
                if name != "__all__":
                    problems.append(f"{form[name].label}: {' '.join(errors)}")
        return problems


def metrics_scope(user, query: QueryDict) -> MetricsScope:
    """The period (last 90 days unless both ends are given and valid) and the trains the
    user may see, filtered as the trains list filters them."""
    default = Period.default()
    given = "first" in query or "last" in query
    period_form = PeriodForm(
        query if given else None, initial={"first": default.first, "last": default.last}
    )
    period = default
    if given and period_form.is_valid():
        period = Period(period_form.cleaned_data["first"], period_form.cleaned_data["last"])
    filters = InsightFilter(query, queryset=trains_for(user, VIEW))
    trains = filters.qs if filters.is_valid() else filters.queryset.none()
    return MetricsScope(period_form, filters, period, trains)


def require_metrics(user) -> None:
    if not may_see_metrics(user):
        raise PermissionDenied(NO_METRICS)


def state_chips(query: QueryDict, states=tuple(TrainState)) -> list[dict]:
    picked = query.getlist("state")
    return [{"value": s, "label": s.label, "checked": s in picked} for s in states]


@login_required
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The figures as last computed while nothing they depend on changed
    (`metrics_snapshot`); `?fresh=1` computes them now."""
    require_metrics(request.user)
    scope = metrics_scope(request.user, request.GET)
    figures = metrics_snapshot(
        trains=scope.trains, period=scope.period, recompute=request.GET.get("fresh") == "1"
    )
    query = request.GET.copy()
    query.pop("fresh", None)
    return render(
        request,
        "trains/metrics.html",
        {
            "scope": scope,
            "filters": scope.filters,
            "period": scope.period,
            "figures": figures,
            "kept_minutes": SNAPSHOT_SECONDS // 60,
            "cards": metric_cards(figures),
            "query": query.urlencode(),
            "recompute": query_with(query, fresh="1"),
            "states": state_chips(request.GET),
        },
    )


def _day(value: str | None) -> date | None:
    if not value:
        return timezone.localdate()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if 1900 <= day.year <= 9998 else None


@login_required
@require_GET
def portfolio_view(request: HttpRequest) -> HttpResponse:
    """Every train one may see whose window meets the chosen month, quarter or year, on
    one axis. Cancelled trains only when the state filter asks for them."""
    query = request.GET
    day = _day(query.get("at"))
    if day is None:
        return HttpResponse("Give the day as YYYY-MM-DD, e.g. ?at=2026-11-30.", status=400)
    zoom = Zoom(query["zoom"]) if query.get("zoom") in Zoom.__members__.values() else Zoom.QUARTER
    group_by = (
        GroupBy(query["group"])
        if query.get("group") in GroupBy.__members__.values()
        else GroupBy.TYPE
    )
    window = Window.around(day, zoom)
    filters = InsightFilter(query, queryset=trains_for(request.user, VIEW))
    trains = filters.qs if filters.is_valid() else filters.queryset.none()
    if not query.getlist("state"):
        trains = trains.exclude(state=TrainState.CANCELLED)
    kept = query.copy()
    kept.pop("at", None)
    return render(
        request,
        "trains/portfolio.html",
        {
            "chart": portfolio(trains=trains, window=window, group_by=group_by),
            "filters": filters,
            "states": state_chips(query),
            "zoom": zoom,
            "group_by": group_by,
            "zooms": [
                {"value": z, "label": z.label, "query": query_with(query, zoom=z)} for z in Zoom
            ],
            "groupings": [
                {"value": g, "label": g.label, "query": query_with(query, group=g)} for g in GroupBy
            ],
            "previous": query_with(kept, at=window.previous().first.isoformat()),
            "following": query_with(kept, at=window.following().first.isoformat()),
            "this_period": query_with(kept),
            "at": day.isoformat(),
        },
    )
