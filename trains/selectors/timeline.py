"""The train page's timeline: each phase's planned and actual span on a dated axis, the
milestones, today; every position computed here, so that the template only draws.

Positions are percentages of the drawing's width and heights are pixels: the SVG has no
viewBox, so its text keeps its size on a phone while the bars stretch to the width.
No query: the phases come from the train's facts, the milestones from the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from trains import freezes
from trains.choices import PHASE_ORDER, PhaseKind, TrainState
from trains.facts import PhaseFact, facts_of, parse_date
from trains.models import FreezeWindow, Milestone, ReleaseTrain
from trains.status import TrainStatus

# The drawing's rows, in pixels from its top.
AXIS = 16  # month labels above this line
FIRST_ROW = 22
ROW = 36  # a phase: its label, its planned bar, its actual bar
LABEL = 11  # a row's label baseline, from the row's top
PLANNED = (15, 7)  # planned bar: top from the row's top, height
ACTUAL = (24, 9)  # actual bar
MILESTONE_ROW = 30
TODAY_ROW = 16
EDGE = 0.12  # a tick's label this close to an end would run into the end's date
WEEKS_UP_TO = 120  # days: a window this short also gets a line each Monday


@dataclass
class Bar:
    x: str  # "12.50%"
    width: str
    y: int
    height: int
    css: str
    title: str


@dataclass
class PhaseLine:
    kind: PhaseKind
    label: str
    now: str  # "" unless current: "now", or the state within it ("now: Development approval")
    y: int
    label_y: int
    band_y: int
    planned_start: date
    planned_end: date | None
    actual_start: date | None
    actual_end: date | None
    bars: list[Bar] = field(default_factory=list)
    slip: str = ""  # "3 days late", "on time", "2 days early", "4 days left"
    late: bool = False
    baseline_start: date | None = None  # the phase's span in the latest baseline
    baseline_end: date | None = None
    baseline_text: str = ""  # "3 days later than baseline 1"
    baseline_late: bool = False

    @property
    def current(self) -> bool:
        return bool(self.now)


@dataclass
class Tick:
    x: str
    label: str
    anchor: str  # the SVG text-anchor: start, middle or end
    major: bool = True


@dataclass
class Mark:
    """A milestone's diamond, or the moment a gate opened."""

    x: str
    y: int
    css: str
    title: str


@dataclass
class Timeline:
    start: date
    end: date
    height: int
    phases: list[PhaseLine]
    ticks: list[Tick]  # months (labelled) and, for short windows, weeks
    edges: list[Tick]  # the first and last day drawn, labelled
    milestones: list[Mark]
    milestone_y: int
    milestone_label_y: int
    gate: Mark | None  # where the current gate opened, on its phase's row
    baseline: int | None
    today: Tick | None
    today_label_y: int
    axis_y: int = AXIS
    axis_label_y: int = AXIS - 4
    band_height: int = ROW - 2  # a phase's row, shaded to hold its label and bars together
    grid_top: int = AXIS
    summary: str = ""  # the drawing in words, for a screen reader
    freezes: list[Bar] = field(default_factory=list)  # freeze windows, over every row

    @property
    def grid_bottom(self) -> int:
        return self.height - TODAY_ROW


def _local(moment: datetime | None) -> date | None:
    return timezone.localdate(moment) if moment else None


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def _freeze_windows(train: ReleaseTrain, start: date, end: date) -> list[FreezeWindow]:
    """The freeze windows touching the days drawn: off the page's train query when it
    read those from the train's start on (selectors.dashboard.dashboard_train), else one
    query."""
    if "page_freezes" not in train.__dict__ or start < train.start_date:
        return list(freezes.windows_between(start, end))
    windows = [
        FreezeWindow(
            pk=w["id"],
            name=w["name"],
            start=parse_date(w["start"]),
            end=parse_date(w["end"]),
            reason=w["reason"],
        )
        for w in train.page_freezes or ()
    ]
    return sorted(
        (w for w in windows if w.start <= end and w.end >= start), key=lambda w: (w.start, w.pk)
    )


def timeline(train: ReleaseTrain, status: TrainStatus, milestones: list[Milestone]) -> Timeline:
    """The timeline of this train as `status` sees it today."""
    facts = facts_of(train)
    today = status.today
    phases = sorted(facts.phases, key=lambda p: PHASE_ORDER.index(p.kind))
    lines = _phase_lines(train, status, phases)
    _baseline_spans(lines, facts.baseline, status)

    # The window drawn: the planned one, stretched to what happened, to today and to the
    # baseline.
    known = [train.start_date, train.end_date]
    known += [d for line in lines for d in (line.baseline_start, line.baseline_end) if d]
    known += [d for line in lines for d in (line.actual_start, line.actual_end) if d]
    known += [m.due_date for m in milestones]
    if train.is_open:
        known.append(today)
    start, end = min(known), max(known)
    span = (end - start).days + 1  # the last day drawn ends at the right edge

    def at(day: date) -> float:
        return (day - start).days / span

    def pct(fraction: float) -> str:
        return f"{max(0.0, min(1.0, fraction)) * 100:.2f}%"

    for line in lines:
        _draw(line, at, pct, today)
    gate = None
    if train.gate_opened_at and status.phase is not None:
        row = next(line for line in lines if line.kind == status.phase)
        opened = _local(train.gate_opened_at)
        gate = Mark(
            pct(at(opened)),
            row.y + ACTUAL[0] + ACTUAL[1] // 2,
            "tl-gate",
            f"{status.state_label} requested {opened:%Y-%m-%d}",
        )

    milestone_top = FIRST_ROW + ROW * len(lines)
    milestone_y = milestone_top + 21
    marks = []
    for m in milestones:
        if m.reached_at:
            css, note = "tl-milestone tl-reached", f"reached {_local(m.reached_at):%Y-%m-%d}"
        elif m.due_date < today and train.is_open:
            css, note = "tl-milestone tl-overdue", "overdue"
        else:
            css, note = "tl-milestone", "not reached yet"
        # a diamond in the middle of its day
        x = pct(at(m.due_date) + 0.5 / span)
        marks.append(Mark(x, milestone_y, css, f"{m.name}: due {m.due_date:%Y-%m-%d}, {note}"))

    height = milestone_top + (MILESTONE_ROW if marks else 0) + TODAY_ROW
    frozen = [
        Bar(
            pct(at(max(w.start, start))),
            pct(at(min(w.end, end) + timedelta(days=1)) - at(max(w.start, start))),
            AXIS,
            height - TODAY_ROW - AXIS,
            "tl-freeze",
            f"Freeze window: {w.label}" + (f" — {w.reason}" if w.reason else ""),
        )
        for w in _freeze_windows(train, start, end)
    ]
    today_tick = None
    if start <= today <= end:
        fraction = at(today)
        today_tick = Tick(pct(fraction), f"Today {today:%d %b}", _anchor(fraction))
    return Timeline(
        start=start,
        end=end,
        height=height,
        phases=lines,
        ticks=_ticks(start, end, at, pct),
        edges=[
            Tick(pct(0), f"{start:%d %b %Y}", "start"),
            Tick(pct(1), f"{end:%d %b %Y}", "end"),
        ],
        milestones=marks,
        milestone_y=milestone_y,
        milestone_label_y=milestone_top + LABEL,
        gate=gate,
        baseline=facts.baseline.number if facts.baseline else None,
        today=today_tick,
        today_label_y=height - 4,
        summary=_summary(train, lines, marks, start, end)
        + "".join(f" {bar.title}." for bar in frozen),
        freezes=frozen,
    )


def _phase_lines(
    train: ReleaseTrain, status: TrainStatus, phases: list[PhaseFact]
) -> list[PhaseLine]:
    lines, planned_start = [], train.start_date
    for i, phase in enumerate(phases):
        actual_start = _local(phase.actual_start)
        if actual_start is None and phase.kind == PhaseKind.SCOPING:
            actual_start = _local(train.created_at)  # scoping starts when it is submitted
        actual_end = _local(phase.actual_end)
        if actual_start and not actual_end and train.state == TrainState.CANCELLED:
            actual_end = _local(train.closed_at)  # it stopped there
        now = ""
        if phase.kind == status.phase:
            # The badge's words: a train at a gate is in the phase the gate closes.
            now = "now" if status.state_label == phase.kind.label else f"now: {status.state_label}"
        y = FIRST_ROW + ROW * i
        lines.append(
            PhaseLine(
                kind=phase.kind,
                label=phase.kind.label,
                now=now,
                y=y,
                label_y=y + LABEL,
                band_y=y - 1,
                planned_start=planned_start,
                planned_end=phase.planned_end,
                actual_start=actual_start,
                actual_end=actual_end,
            )
        )
        if phase.planned_end:
            planned_start = phase.planned_end + timedelta(days=1)
    return lines


def _baseline_spans(lines: list[PhaseLine], baseline, status: TrainStatus) -> None:
    """Each phase's span in the latest baseline, and how far its end moved since."""
    if baseline is None:
        return
    start = baseline.start_date
    slips = {p.phase: p for p in status.slip.phases} if status.slip else {}
    for line in lines:
        end = baseline.phase_ends.get(line.kind)
        if end is None:
            continue
        line.baseline_start, line.baseline_end = start, end
        slip = slips.get(line.kind)
        if slip is not None and slip.days is not None:
            line.baseline_late = slip.days > 0
            line.baseline_text = (
                f"{slip.text} than baseline {baseline.number}"
                if slip.days
                else f"as in baseline {baseline.number}"
            )
        start = end + timedelta(days=1)


def _draw(line: PhaseLine, at, pct, today: date) -> None:
    """The row's bars: the baseline's, drawn around the planned one; planned; actual, its
    part past the planned end drawn late; and how far it slipped, in words."""
    if line.baseline_end and line.baseline_start:
        line.bars.append(
            Bar(
                pct(at(line.baseline_start)),
                pct(at(line.baseline_end + timedelta(days=1)) - at(line.baseline_start)),
                line.y + PLANNED[0] - 2,
                PLANNED[1] + 4,
                "tl-baseline",
                f"{line.label} in the baseline: {line.baseline_start:%Y-%m-%d} to "
                f"{line.baseline_end:%Y-%m-%d}",
            )
        )
    if line.planned_end:
        line.bars.append(
            Bar(
                pct(at(line.planned_start)),
                pct(at(line.planned_end + timedelta(days=1)) - at(line.planned_start)),
                line.y + PLANNED[0],
                PLANNED[1],
                "tl-planned",
                f"{line.label} planned: {line.planned_start:%Y-%m-%d} to "
                f"{line.planned_end:%Y-%m-%d}",
            )
        )
    if line.actual_start is None:
        return
    running = line.actual_end is None
    end = line.actual_end or max(today, line.actual_start)
    # A day's bar is a day wide: a phase that started and ended today still shows.
    finish = end + timedelta(days=1)
    css = "tl-actual tl-current" if line.current else "tl-actual"
    title = f"{line.label}: started {line.actual_start:%Y-%m-%d}" + (
        ", still running" if running else f", ended {end:%Y-%m-%d}"
    )
    y, height = line.y + ACTUAL[0], ACTUAL[1]
    late_from = line.planned_end + timedelta(days=1) if line.planned_end else None
    if late_from and late_from < finish:
        on_time_end = max(late_from, line.actual_start)
        if on_time_end > line.actual_start:
            line.bars.append(
                Bar(
                    pct(at(line.actual_start)),
                    pct(at(on_time_end) - at(line.actual_start)),
                    y,
                    height,
                    css,
                    title,
                )
            )
        line.bars.append(
            Bar(
                pct(at(on_time_end)),
                pct(at(finish) - at(on_time_end)),
                y,
                height,
                "tl-actual tl-late",
                title,
            )
        )
    else:
        line.bars.append(
            Bar(
                pct(at(line.actual_start)),
                pct(at(finish) - at(line.actual_start)),
                y,
                height,
                css,
                title,
            )
        )
    if line.planned_end:
        slip = (end - line.planned_end).days
        line.late = slip > 0
        if running:
            line.slip = (
                f"{_days(slip)} late"
                if slip > 0
                else f"{_days(-slip)} left"
                if slip < 0
                else "due today"
            )
        else:
            line.slip = (
                f"{_days(slip)} late"
                if slip > 0
                else f"{_days(-slip)} early"
                if slip < 0
                else "on time"
            )


def _anchor(fraction: float) -> str:
    if fraction < EDGE:
        return "start"
    if fraction > 1 - EDGE:
        return "end"
    return "middle"


def _ticks(start: date, end: date, at, pct) -> list[Tick]:
    """A line on the first of each month, labelled with the month (and the year in
    January), the labels too close to the window's ends left to the ends' dates; and for
    a short window a lighter line each Monday."""
    ticks = []
    if (end - start).days <= WEEKS_UP_TO:
        day = start + timedelta(days=(7 - start.weekday()) % 7 or 7)
        while day < end:
            if day.day != 1:
                ticks.append(Tick(pct(at(day)), "", "middle", major=False))
            day += timedelta(days=7)
    month = date(start.year, start.month, 1)
    while True:
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        if month >= end:
            break
        fraction = at(month)
        label = f"{month:%b %Y}" if month.month == 1 else f"{month:%b}"
        shown = EDGE <= fraction <= 1 - EDGE
        ticks.append(Tick(pct(fraction), label if shown else "", "middle"))
    return ticks


def _summary(train, lines: list[PhaseLine], marks: list[Mark], start: date, end: date) -> str:
    parts = [f"Timeline from {start:%Y-%m-%d} to {end:%Y-%m-%d}."]
    for line in lines:
        planned = (
            f"planned to end {line.planned_end:%Y-%m-%d}" if line.planned_end else "no planned end"
        )
        actual = f", started {line.actual_start:%Y-%m-%d}" if line.actual_start else ", not started"
        if line.actual_end:
            actual += f", ended {line.actual_end:%Y-%m-%d}"
        parts.append(
            f"{line.label}{' (' + line.now + ')' if line.now else ''}: {planned}{actual}"
            + (f", {line.slip}" if line.slip else "")
            + (f", {line.baseline_text}" if line.baseline_text else "")
            + "."
        )
    if marks:
        parts.append(f"{len(marks)} milestone{'s' if len(marks) != 1 else ''}.")
    return " ".join(parts)
