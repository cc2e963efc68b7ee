"""Bar charts drawn on the server as SVG, every position computed here so that the
template only draws (`templates/trains/_chart.html`).

Like the train page's timeline, the SVG has no viewBox: x positions are percentages of
the width and y positions pixels, so the text keeps its size on a phone while the bars
stretch to the width. Each bar carries its value in words as a <title> (shown on hover)
and the chart as a whole is described in words for a screen reader.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

HEIGHT = 190
TOP = 14  # the highest bar's top
BASE = 150  # the x axis
LABEL_Y = 165  # the group labels
CAPTION_Y = 184  # the x axis's caption
LEFT = 10.0  # % of the width kept for the y axis's labels
RIGHT = 1.0
MAX_LABELS = 8  # group labels shown at most, spread evenly


@dataclass
class ChartBar:
    x: str
    width: str
    y: int
    height: int
    css: str
    title: str


@dataclass
class GridLine:
    y: int
    label: str


@dataclass
class GroupLabel:
    x: str
    text: str


@dataclass
class Series:
    name: str
    css: str


@dataclass
class Chart:
    title: str
    y_caption: str
    x_caption: str
    bars: list[ChartBar] = field(default_factory=list)
    grid: list[GridLine] = field(default_factory=list)
    labels: list[GroupLabel] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    summary: str = ""
    height: int = HEIGHT
    base: int = BASE
    label_y: int = LABEL_Y
    caption_y: int = CAPTION_Y
    left: str = f"{LEFT:.0f}%"
    caption_x: str = f"{(LEFT + 100 - RIGHT) / 2:.1f}%"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above the value (1 for nothing)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-9:
            return step * power
    return 10 * power


def _number(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f}%"
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} {unit}".strip()


def bar_chart(
    *,
    title: str,
    groups: list[tuple[str, list[float | None]]],
    series: list[str],
    unit: str,
    y_caption: str,
    x_caption: str,
    notes: list[list[str]] | None = None,
    top: float | None = None,
) -> Chart:
    """Bars in groups (a month, a phase kind…), one bar a series in each group.

    `groups` are (label, a value a series; None for no value); `notes`, when given, say
    more about each bar on hover (its counts). `top` fixes the y axis's top (100 for %).
    """
    chart = Chart(
        title=title,
        y_caption=y_caption,
        x_caption=x_caption,
        series=[Series(name, f"chart-s{i}") for i, name in enumerate(series)],
    )
    values = [v for _, vs in groups for v in vs if v is not None]
    ceiling = top if top is not None else nice_ceiling(max(values, default=0))
    span = BASE - TOP
    chart.grid = [
        GridLine(BASE - round(span * f), _number(ceiling * f, "%" if unit == "%" else ""))
        for f in (0, 0.5, 1)
    ]
    width = (100 - LEFT - RIGHT) / max(len(groups), 1)
    inner = width * 0.8 / max(len(series), 1)
    every = max(1, math.ceil(len(groups) / MAX_LABELS))
    words = []
    for g, (label, vs) in enumerate(groups):
        x0 = LEFT + g * width + width * 0.1
        if g % every == 0:
            chart.labels.append(GroupLabel(f"{LEFT + (g + 0.5) * width:.2f}%", label))
        said = []
        for s, value in enumerate(vs):
            if value is None:
                continue
            height = max(1, round(span * min(value, ceiling) / ceiling)) if value > 0 else 1
            note = notes[g][s] if notes else ""
            text = f"{label}, {series[s]}: {_number(value, unit)}" + (f" ({note})" if note else "")
            chart.bars.append(
                ChartBar(
                    f"{x0 + s * inner:.2f}%",
                    f"{inner * 0.92:.2f}%",
                    BASE - height,
                    height,
                    f"chart-s{s}",
                    text,
                )
            )
            said.append(f"{series[s]} {_number(value, unit)}")
        if said:
            words.append(f"{label}: {', '.join(said)}")
    chart.summary = f"{title}. " + "; ".join(words) + "."
    return chart
