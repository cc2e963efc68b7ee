"""Reads for the portfolio: every train one may see on one time axis (a month, a quarter
or a year), grouped by type or by release manager; every position computed here, so
that the template only draws.

As on the train page's timeline, the SVGs have no viewBox: x positions are percentages
of the width, heights pixels. Two queries: the trains with their facts (phases
included) and the milestones inside the window; the freeze windows. A train's current
deadline and health are its status's (`trains.status.train_glance`), as on its banner.
The rows are drawn by a Jinja2 body (templates/jinja2/trains/_portfolio_rows.html):
200 rows of Django template loops cost a quarter of a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cached_property

from django.db.models import OuterRef, QuerySet
from django.utils import timezone

from releasemgr.db import first_rows
from releasemgr.people import name_of
from trains.choices import PHASE_ORDER, TrainType
from trains.facts import GLANCE_COLUMNS, facts_of, json_rows, parse_date
from trains.models import FreezeWindow, Milestone, ReleaseTrain, WindowMeets
from trains.status import TrainGlance, train_glance, with_glance_facts

ROW_HEIGHT = 26
BAR = (5, 16)  # the window's bar: top, height
PHASE = (7, 12)  # a phase's segment


class Zoom(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class GroupBy(StrEnum):
    TYPE = "type"
    MANAGER = "manager"

    @property
    def label(self) -> str:
        return {"type": "Type", "manager": "Release manager"}[self.value]


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Window:
    """The days the axis shows, first and last included."""

    zoom: Zoom
    first: date
    last: date

    @classmethod
    def around(cls, day: date, zoom: Zoom) -> Window:
        if zoom == Zoom.MONTH:
            first = day.replace(day=1)
            months = 1
        elif zoom == Zoom.QUARTER:
            first = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
            months = 3
        else:
            first = date(day.year, 1, 1)
            months = 12
        return cls(zoom, first, _add_months(first, months) - timedelta(days=1))

    @property
    def months(self) -> int:
        return {Zoom.MONTH: 1, Zoom.QUARTER: 3, Zoom.YEAR: 12}[self.zoom]

    def previous(self) -> Window:
        return Window.around(_add_months(self.first, -self.months), self.zoom)

    def following(self) -> Window:
        return Window.around(_add_months(self.first, self.months), self.zoom)

    @cached_property  # read for every x and width a row draws
    def span(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def title(self) -> str:
        if self.zoom == Zoom.MONTH:
            return f"{self.first:%B %Y}"
        if self.zoom == Zoom.QUARTER:
            return f"Q{(self.first.month - 1) // 3 + 1} {self.first.year}"
        return str(self.first.year)

    def fraction(self, day: date) -> float:
        return (day - self.first).days / self.span

    def x(self, day: date) -> str:
        return f"{max(0.0, min(1.0, self.fraction(day))) * 100:.2f}%"

    def width(self, first: date, last: date) -> str:
        """The width of the days first..last (both included), clipped to the window."""
        start = max(0.0, self.fraction(first))
        end = min(1.0, self.fraction(last + timedelta(days=1)))
        return f"{max(0.0, end - start) * 100:.2f}%"

    def shows(self, first: date, last: date) -> bool:
        return first <= self.last and last >= self.first


@dataclass
class Segment:
    x: str
    width: str
    y: int
    height: int
    css: str
    title: str


@dataclass
class Diamond:
    x: str
    css: str
    title: str


@dataclass
class Tick:
    x: str
    label: str
    major: bool


@dataclass
class Row:
    train: ReleaseTrain
    status: TrainGlance  # its state, current deadline and health, as on its banner
    manager: str
    window_x: str
    window_width: str
    segments: list[Segment] = field(default_factory=list)
    milestones: list[Diamond] = field(default_factory=list)
    summary: str = ""


@dataclass
class Group:
    label: str
    rows: list[Row]


# The chart draws at most PORTFOLIO_CAP trains, those that start first, and says when
# more run in its window: thousands of rows are read, drawn and sent whole, and no one
# reads a chart that tall; its filters narrow it.
PORTFOLIO_CAP = 500


@dataclass
class Portfolio:
    window: Window
    groups: list[Group]
    ticks: list[Tick]
    today: str | None  # the today line's x, when today is in the window
    today_label: str
    today_anchor: str
    count: int
    row_height: int = ROW_HEIGHT
    bar_y: int = BAR[0]
    bar_height: int = BAR[1]
    phase_kinds: list = field(default_factory=lambda: [(k, k.label) for k in PHASE_ORDER])
    freezes: list[Segment] = field(default_factory=list)  # freeze windows, shaded bands
    more: bool = False  # more than PORTFOLIO_CAP trains run in the window

    @property
    def more_label(self) -> str:
        """What the page says when more trains run in the window than it draws."""
        if not self.more:
            return ""
        return (
            f"More than {PORTFOLIO_CAP:,} trains run in {self.window.title}: the chart "
            f"draws the {PORTFOLIO_CAP:,} that start first. Filter by state, type, release "
            "manager or health, or zoom in, to see the others."
        )


# What a row reads of a train and of the people it names: the rest of their columns
# (descriptions, the other moments, the password's hash…) cost 4-5 ms to read and build
# for 200 trains, drawn nowhere.
ROW_FIELDS = (
    "name",
    "train_type",
    "state",
    "start_date",
    "end_date",
    *(f"health_override{part}" for part in ("", "_reason", "_at", "_until")),
    *(
        f"{person}__{name}"
        for person in ("primary_manager", "health_override_by")
        for name in ("username", "first_name", "last_name")
    ),
)


def portfolio_trains(trains: QuerySet[ReleaseTrain], window: Window) -> QuerySet[ReleaseTrain]:
    """The trains whose window overlaps the axis, with what a row draws: the facts (its
    phases, and what its health is computed from) and the milestones inside the window,
    as a JSON column (`milestones_shown`): read as models by a second query, 313 of them
    took 7 ms of the bench's 197 rows; as JSON, 2."""
    milestones = Milestone.objects.filter(
        train=OuterRef("pk"), due_date__range=(window.first, window.last)
    )
    return (
        with_glance_facts(
            trains.filter(WindowMeets(window.first, window.last)).select_related("primary_manager")
        )
        .only(*ROW_FIELDS)
        .annotate(
            milestones_shown=json_rows(
                milestones, "train", id="id", name="name", due="due_date", reached="reached_at"
            )
        )
        .order_by("start_date", "id")
    )


def _ticks(window: Window) -> list[Tick]:
    ticks = []
    if window.zoom == Zoom.MONTH:
        day = window.first
        while day <= window.last:
            if day.weekday() == 0:
                ticks.append(Tick(window.x(day), f"{day:%d}", True))
            day += timedelta(days=1)
        return ticks
    month = window.first
    while month <= window.last:
        label = f"{month:%b}" if window.zoom == Zoom.YEAR or month != window.first else ""
        label = label or f"{month:%b %Y}"
        ticks.append(Tick(window.x(month), label, True))
        if window.zoom == Zoom.QUARTER:
            day = month + timedelta(days=(7 - month.weekday()) % 7)
            while day < _add_months(month, 1):
                if day != month:
                    ticks.append(Tick(window.x(day), "", False))
                day += timedelta(days=7)
        month = _add_months(month, 1)
    return ticks


def _row(train: ReleaseTrain, window: Window, today: date) -> Row:
    status = train_glance(train, today=today)
    now = status.phase
    row = Row(
        train=train,
        status=status,
        manager=name_of(train.primary_manager),
        window_x=window.x(train.start_date),
        window_width=window.width(train.start_date, train.end_date),
    )
    start = train.start_date
    for phase in facts_of(train, GLANCE_COLUMNS).phases:  # in phase order
        end = phase.planned_end
        if end is None:
            continue
        if window.shows(start, end):
            current = now == phase.kind
            done = phase.actual_end is not None
            row.segments.append(
                Segment(
                    window.x(start),
                    window.width(start, end),
                    PHASE[0],
                    PHASE[1],
                    f"pf-phase pf-{phase.kind}"
                    + (" pf-current" if current else "")
                    + (" pf-done" if done else ""),
                    f"{train.name}: {phase.kind.label} "
                    f"{start.isoformat()} to {end.isoformat()}"
                    + (" (now)" if current else " (done)" if done else ""),
                )
            )
        start = end + timedelta(days=1)
    shown = [(parse_date(m["due"]), m["id"], m) for m in train.milestones_shown or ()]
    for due, _, milestone in sorted(shown, key=lambda m: m[:2]):
        reached = bool(milestone["reached"])
        late = not reached and due < today and train.is_open
        row.milestones.append(
            Diamond(
                f"{(window.fraction(due) + 0.5 / window.span) * 100:.2f}%",
                "pf-milestone" + (" pf-reached" if reached else " pf-overdue" if late else ""),
                f"{milestone['name']}: due {due.isoformat()}"
                + (", reached" if reached else ", overdue" if late else ""),
            )
        )
    deadline = ""
    if status.deadline:
        since = "overdue since" if status.overdue else "current deadline"
        deadline = f", {since} {status.deadline.isoformat()}"
    row.summary = (
        f"{train.name}, {train.get_train_type_display()}, {status.state_label}, "
        f"{train.start_date.isoformat()} to {train.end_date.isoformat()}{deadline}"
    )
    return row


def portfolio(*, trains: QuerySet[ReleaseTrain], window: Window, group_by: GroupBy) -> Portfolio:
    """The rows of the trains shown in the window, grouped, and the freeze windows
    (two queries: the trains, their facts and milestones with them, and the freezes). At
    most PORTFOLIO_CAP trains, those that start first (`more` says when there are
    others)."""
    today = timezone.localdate()
    picked, more = first_rows(portfolio_trains(trains, window), PORTFOLIO_CAP)
    rows = [_row(train, window, today) for train in picked]
    groups: dict[str, list[Row]] = {}
    if group_by == GroupBy.TYPE:
        for kind in TrainType:
            groups[kind.label] = [r for r in rows if r.train.train_type == kind]
    else:
        for row in sorted(rows, key=lambda r: r.manager.lower()):
            groups.setdefault(row.manager, []).append(row)
    inside = window.first <= today <= window.last
    freezes = [
        Segment(
            window.x(f.start),
            window.width(f.start, f.end),
            0,
            ROW_HEIGHT,
            "pf-freeze",
            f"Freeze: {f.name}, {f.start.isoformat()} to {f.end.isoformat()}",
        )
        for f in FreezeWindow.objects.filter(start__lte=window.last, end__gte=window.first)
    ]
    return Portfolio(
        freezes=freezes,
        window=window,
        groups=[Group(label, members) for label, members in groups.items() if members],
        ticks=_ticks(window),
        today=window.x(today) if inside else None,
        today_label=f"Today {today:%d %b}",
        today_anchor=(
            "start"
            if window.fraction(today) < 0.15
            else "end"
            if window.fraction(today) > 0.85
            else "middle"
        ),
        count=len(rows),
        more=more,
    )
