"""A month of phase deadlines and milestones."""

import calendar as pycalendar
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from trains.selectors import calendar_entries


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
    first = _month(request.GET.get("month"))
    if first is None or not 1900 <= first.year <= 9998:
        return HttpResponse("Give the month as YYYY-MM, e.g. ?month=2026-11.", status=400)
    weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    entries = calendar_entries(user=request.user, first=weeks[0][0], last=weeks[-1][-1])
    by_day: dict[date, list] = {}
    for entry in entries:
        by_day.setdefault(entry.day, []).append(entry)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return render(
        request,
        "trains/calendar.html",
        {
            "first": first,
            "today": timezone.localdate(),
            "weeks": [[(day, by_day.get(day, [])) for day in week] for week in weeks],
            "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            "previous": previous.strftime("%Y-%m"),
            "following": following.strftime("%Y-%m"),
            "entry_count": len(entries),
        },
    )
