"""Reads for the calendar: a month of phase deadlines, milestones and train windows."""

from __future__ import annotations

import calendar as pycalendar
from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from trains import freezes
from trains.facts import with_facts
from trains.models import FreezeWindow, Milestone, Phase, ReleaseTrain
from trains.status import TrainStatus, train_status


@dataclass
class CalendarEntry:
    day: date
    train: ReleaseTrain
    label: str
    kind: str  # "phase" or "milestone"
    overdue: bool
    done: bool

    @property
    def title(self) -> str:
        """The whole entry in words, for its title: a cut entry keeps nothing back."""
        mark = " (overdue)" if self.overdue else " (done)" if self.done else ""
        return f"{self.train.name}: {self.label}{mark}"


@dataclass(frozen=True)
class WindowBar:
    """A train's window (start to end date) across one week, as a bar over its days."""

    train: ReleaseTrain
    column: int  # the weekday it starts on this week, 1 (Monday) to 7
    span: int  # how many days of this week it covers
    starts: bool  # the window starts this week
    ends: bool  # the window ends this week
    status: TrainStatus | None = None  # for its health

    @property
    def title(self) -> str:
        train = self.train
        return f"{train.name}: {train.start_date:%Y-%m-%d} → {train.end_date:%Y-%m-%d}"


@dataclass(frozen=True)
class FreezeBar:
    """A freeze window across one week (trains.freezes): no train deploys on its days."""

    window: FreezeWindow
    column: int
    span: int
    starts: bool
    ends: bool

    @property
    def title(self) -> str:
        return f"Freeze window: {self.window.label}" + (
            f" — {self.window.reason}" if self.window.reason else ""
        )


@dataclass
class CalendarWeek:
    windows: list[WindowBar]
    days: list[tuple[date, list[CalendarEntry]]]
    freezes: list[FreezeBar] = field(default_factory=list)
    frozen_days: frozenset[date] = frozenset()


@dataclass
class CalendarMonth:
    first: date
    weeks: list[CalendarWeek]
    entry_count: int
    window_count: int  # trains whose window shows this month


def calendar_entries(
    *, trains: QuerySet[ReleaseTrain], first: date, last: date
) -> list[CalendarEntry]:
    """Phase deadlines and milestones of these trains between two dates (2 queries)."""
    today = timezone.localdate()
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
            train__in=trains, planned_end__range=(first, last)
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
            train__in=trains, due_date__range=(first, last)
        ).select_related("train")
    ]
    entries.sort(key=lambda e: (e.day, e.train.name, e.label))
    return entries


def _bars(
    trains: list[ReleaseTrain], week: list[date], health: dict[int, TrainStatus] | None = None
) -> list[WindowBar]:
    health = health or {}
    monday, sunday = week[0], week[-1]
    bars = []
    for train in trains:
        if train.end_date < monday or train.start_date > sunday:
            continue
        start, end = max(train.start_date, monday), min(train.end_date, sunday)
        bars.append(
            WindowBar(
                train=train,
                column=(start - monday).days + 1,
                span=(end - start).days + 1,
                starts=train.start_date >= monday,
                ends=train.end_date <= sunday,
                status=health.get(train.pk),
            )
        )
    return bars


def _freeze_bars(windows: list[FreezeWindow], week: list[date]) -> list[FreezeBar]:
    monday, sunday = week[0], week[-1]
    bars = []
    for window in windows:
        if window.end < monday or window.start > sunday:
            continue
        start, end = max(window.start, monday), min(window.end, sunday)
        bars.append(
            FreezeBar(
                window,
                (start - monday).days + 1,
                (end - start).days + 1,
                window.start >= monday,
                window.end <= sunday,
            )
        )
    return bars


def calendar_month(*, trains: QuerySet[ReleaseTrain], month: date) -> CalendarMonth:
    """The weeks (Monday first) around a month: each day's deadlines and milestones of
    these trains, each week's bars of the trains' windows and of the freeze windows
    (4 queries)."""
    weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    first, last = weeks[0][0], weeks[-1][-1]
    entries = calendar_entries(trains=trains, first=first, last=last)
    by_day: dict[date, list[CalendarEntry]] = {}
    for entry in entries:
        by_day.setdefault(entry.day, []).append(entry)
    # The windows with their facts (JSON columns of the same query): each one's health.
    windows = list(
        with_facts(
            trains.filter(start_date__lte=last, end_date__gte=first).select_related(
                "primary_manager", "health_override_by"
            )
        ).order_by("start_date", "end_date", "name", "id")
    )
    frozen = list(freezes.windows_between(first, last))
    health = {t.pk: train_status(t) for t in windows}
    return CalendarMonth(
        first=month,
        weeks=[
            CalendarWeek(
                _bars(windows, week, health),
                [(day, by_day.get(day, [])) for day in week],
                _freeze_bars(frozen, week),
                frozenset(d for d in week for w in frozen if w.start <= d <= w.end),
            )
            for week in weeks
        ],
        entry_count=len(entries),
        window_count=len(windows),
    )
