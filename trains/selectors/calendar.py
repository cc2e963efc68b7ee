"""Reads for the calendar: deadlines and milestones of a month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from trains.access import trains_visible_to
from trains.models import (
    Milestone,
    Phase,
    ReleaseTrain,
)


@dataclass
class CalendarEntry:
    day: date
    train: ReleaseTrain
    label: str
    kind: str  # "phase" or "milestone"
    overdue: bool
    done: bool


def calendar_entries(*, user: AbstractBaseUser, first: date, last: date) -> list[CalendarEntry]:
    """Phase deadlines and milestones of visible trains between two dates (2 queries)."""
    today = timezone.localdate()
    visible = trains_visible_to(user)
    entries = [
        CalendarEntry(
            day=p.planned_end,
            train=p.train,
            label=f"{p.get_kind_display()} ends",
            kind="phase",
            overdue=p.planned_end < today and p.actual_end is None and p.train.is_open,
            done=p.actual_end is not None,
        )
        for p in Phase.objects.filter(
            train__in=visible, planned_end__range=(first, last)
        ).select_related("train")
    ]
    entries += [
        CalendarEntry(
            day=m.due_date,
            train=m.train,
            label=m.name,
            kind="milestone",
            overdue=m.due_date < today and m.reached_at is None and m.train.is_open,
            done=m.reached_at is not None,
        )
        for m in Milestone.objects.filter(
            train__in=visible, due_date__range=(first, last)
        ).select_related("train")
    ]
    entries.sort(key=lambda e: (e.day, e.train.name, e.label))
    return entries
