"""Pages across trains: the delivery metrics (and the portfolio timeline)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from trains.access import VIEW, may_see_metrics, trains_for
from trains.choices import TrainState
from trains.filters import InsightFilter
from trains.forms import PeriodForm
from trains.selectors.metrics import Period, metrics
from trains.selectors.metrics_page import metric_cards

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
    require_metrics(request.user)
    scope = metrics_scope(request.user, request.GET)
    figures = metrics(trains=scope.trains, period=scope.period)
    return render(
        request,
        "trains/metrics.html",
        {
            "scope": scope,
            "filters": scope.filters,
            "period": scope.period,
            "cards": metric_cards(figures),
            "query": request.GET.urlencode(),
            "states": state_chips(request.GET),
        },
    )
