"""Which freeze window, if any, covers a day: what the deploy step reads (workflow.
freeze_unmet), with the windows near a day for the calendar, the timeline and the form.

A page asks for today's window once per train in deployment it shows; the answer is kept
for the request, so that a list asks the database once; outside a request (a command, a
task) it is read every time.
"""

from __future__ import annotations

from datetime import date

from asgiref.local import Local
from django.core.signals import request_finished, request_started
from django.db.models import QuerySet
from django.utils import timezone

from trains.models import FreezeWindow

_memo = Local()


def _request_started(**_kwargs) -> None:
    _memo.windows = {}


def _request_finished(**_kwargs) -> None:
    _memo.windows = None


request_started.connect(_request_started, dispatch_uid="trains.freezes.started")
request_finished.connect(_request_finished, dispatch_uid="trains.freezes.finished")


def window_on(day: date) -> FreezeWindow | None:
    """The freeze window covering `day` (the one ending first when several do)."""
    return FreezeWindow.objects.filter(start__lte=day, end__gte=day).order_by("end", "id").first()


def window_today() -> FreezeWindow | None:
    """Today's freeze window: read once a request, and every time outside one."""
    today = timezone.localdate()
    kept = getattr(_memo, "windows", None)
    if kept is None:
        return window_on(today)
    if today not in kept:
        kept[today] = window_on(today)
    return kept[today]


def forget() -> None:
    """Read the windows again (one was added, changed or removed in this request)."""
    if getattr(_memo, "windows", None) is not None:
        _memo.windows = {}


def windows_between(first: date, last: date) -> QuerySet[FreezeWindow]:
    """The freeze windows that touch the days from `first` to `last`."""
    return FreezeWindow.objects.filter(start__lte=last, end__gte=first).order_by("start", "id")


def windows_containing(days) -> list[FreezeWindow]:
    """Each freeze window that covers one of these days (a phase's planned end)."""
    days = [d for d in days if d is not None]
    if not days:
        return []
    return [
        w for w in windows_between(min(days), max(days)) if any(w.start <= d <= w.end for d in days)
    ]
