"""A month of phase deadlines, milestones and train windows."""

from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from trains.access import VIEW, trains_for
from trains.filters import CalendarFilter, Show, query_with, show_from, shown
from trains.selectors import calendar_month


def _month(value: str | None) -> date | None:
    today = timezone.localdate()
    if not value:
        return today.replace(day=1)
    try:
        year, month = (int(part) for part in value.split("-"))
        return date(year, month, 1)
    except (TypeError, ValueError):
        return None


@login_required
@require_GET
def calendar_view(request: HttpRequest) -> HttpResponse:
    """Open trains by default; `?show=all` adds the closed and cancelled ones. The type and
    manager filters are the trains list's."""
    first = _month(request.GET.get("month"))
    if first is None or not 1900 <= first.year <= 9998:
        return HttpResponse("Give the month as YYYY-MM, e.g. ?month=2026-11.", status=400)
    # The month picks few trains of many: the access rule is asked of each (by_row).
    filters = CalendarFilter(request.GET, queryset=trains_for(request.user, VIEW, by_row=True))
    trains = filters.qs if filters.is_valid() else filters.queryset.none()
    show = show_from(request.GET.get("show"), default=Show.OPEN)
    if show == Show.NEEDS:  # a tab of the trains list only
        show = Show.OPEN
    month = calendar_month(trains=shown(trains, show), month=first)
    # The month links keep the filters; the filters and "show" links keep the month.
    kept = request.GET.copy()
    kept.pop("month", None)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return render(
        request,
        "trains/calendar.html",
        {
            "first": first,
            "month": month,
            "today": timezone.localdate(),
            "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            "filters": filters,
            "show": show,
            "Show": Show,
            "month_value": f"{first:%Y-%m}",
            "previous": query_with(kept, month=f"{previous:%Y-%m}"),
            "following": query_with(kept, month=f"{following:%Y-%m}"),
            "this_month": query_with(kept),
            "show_all": query_with(request.GET, show=Show.ALL),
            "show_open": query_with(request.GET, show=Show.OPEN),
        },
    )
