"""Reads for the calendar: a month of phase deadlines, milestones and train windows."""

from __future__ import annotations

import calendar as pycalendar
from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet, Value
from django.utils import timezone

from releasemgr.db import first_rows, id_list
from trains import freezes
from trains.choices import PhaseKind
from trains.models import FreezeWindow, Milestone, Phase, ReleaseTrain, WindowMeets
from trains.status import TrainGlance, train_glance, with_glance_facts


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
    status: TrainGlance | None = None  # for its health

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


# A month shows at most CALENDAR_CAP trains, the ones that start first, and says when
# more would show: a month of thousands of trains read and drew them all (5.6 s for the
# bench manager's month at 100,000 trains), and no one reads a month that full; its
# filters (type, release manager) narrow it.
CALENDAR_CAP = 500


@dataclass
class CalendarMonth:
    first: date
    weeks: list[CalendarWeek]
    entry_count: int
    window_count: int  # trains whose window shows this month
    more: bool = False  # more than CALENDAR_CAP trains would show

    @property
    def more_label(self) -> str:
        """What the page says when the month holds more trains than it shows."""
        if not self.more:
            return ""
        return (
            f"More than {CALENDAR_CAP:,} trains fall in these weeks: the calendar shows the "
            f"{CALENDAR_CAP:,} that start first. Filter by type or release manager to see "
            "the others."
        )


def calendar_entries(
    *, trains: dict[int, ReleaseTrain], first: date, last: date
) -> list[CalendarEntry]:
    """Phase deadlines and milestones of these trains (by id) between two dates (1 query)."""
    today = timezone.localdate()
    ids = id_list(trains)
    phases = Phase.objects.filter(train_id__in=ids, planned_end__range=(first, last)).values_list(
        Value("phase"), "train_id", "kind", "planned_end", "actual_end"
    )
    milestones = Milestone.objects.filter(
        train_id__in=ids, due_date__range=(first, last)
    ).values_list(Value("milestone"), "train_id", "name", "due_date", "reached_at")
    entries = []
    rows = phases.order_by().union(milestones.order_by(), all=True)
    for kind, train_id, name, day, done_at in rows:
        train = trains[train_id]
        entries.append(
            CalendarEntry(
                day=day,
                train=train,
                label=f"{PhaseKind(name).label} ends" if kind == "phase" else name,
                kind=kind,
                overdue=day < today and done_at is None and train.is_open,
                done=done_at is not None,
            )
        )
    entries.sort(key=lambda e: (e.day, e.train.name, e.label))
    return entries


def _health(train_ids: list[int]) -> dict[int, TrainGlance]:
    """These trains at a glance, for their health: their facts read in one query (none
    for no trains). Closed and cancelled trains have no health, so they are not asked."""
    if not train_ids:
        return {}
    trains = with_glance_facts(ReleaseTrain.objects.filter(pk__in=id_list(train_ids)))
    return {t.pk: train_glance(t) for t in trains}


def _bars(
    trains: list[ReleaseTrain], week: list[date], health: dict[int, TrainGlance] | None = None
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
    these trains, each week's bars of the trains' windows (with the open ones' health)
    and of the freeze windows (5 queries; 4 when no open train shows). At most
    CALENDAR_CAP trains, those that start first (`more` says when there are others)."""
    weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    first, last = weeks[0][0], weeks[-1][-1]
    # The trains that show: a window across these weeks, or a deadline or milestone in
    # them. The access policy is asked once, here; the other queries read these ids.
    # The ids come from one union, which each table's date index answers, so that the
    # database starts from the few trains of these weeks (an OR of the three would read
    # every train the rest of the query allows).
    in_weeks = (
        ReleaseTrain.objects.filter(WindowMeets(first, last))
        .order_by()
        .values("pk")
        .union(
            Phase.objects.filter(planned_end__range=(first, last)).order_by().values("train"),
            Milestone.objects.filter(due_date__range=(first, last)).order_by().values("train"),
            all=True,
        )
    )
    in_order = trains.filter(pk__in=in_weeks).order_by("start_date", "id")
    picked, more = first_rows(in_order, CALENDAR_CAP)
    showing = {t.pk: t for t in picked}
    entries = calendar_entries(trains=showing, first=first, last=last)
    by_day: dict[date, list[CalendarEntry]] = {}
    for entry in entries:
        by_day.setdefault(entry.day, []).append(entry)
    windows = sorted(
        (t for t in showing.values() if t.start_date <= last and t.end_date >= first),
        key=lambda t: (t.start_date, t.end_date, t.name, t.pk),
    )
    frozen = list(freezes.windows_between(first, last))
    health = _health([t.pk for t in windows if t.is_open])
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
        more=more,
    )
