"""The metrics page's cards: each figure's number, definition, chart and the rows behind
it, from `trains.selectors.metrics` (no query here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from approvals.models import Gate
from trains.choices import PhaseKind, TrainType
from trains.selectors.charts import Chart, bar_chart
from trains.selectors.metrics import Metrics, Spread


def days(value: float | None) -> str:
    """A duration in days as people say it: hours under a day."""
    if value is None:
        return "—"
    if value < 1:
        hours = round(value * 24)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} day{'s' if text != '1' else ''}"


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "—"


@dataclass
class Card:
    slug: str
    title: str
    number: str
    definition: str
    empty: str  # what the period lacks, when there is nothing to draw
    charts: list[Chart] = field(default_factory=list)
    table: list[tuple[str, ...]] = field(default_factory=list)
    table_head: tuple[str, ...] = ()
    words: list[tuple[str, list[tuple[str, int]]]] = field(default_factory=list)
    downloads: list[tuple[str, str]] = field(default_factory=list)  # (rows name, label)


def _month(month) -> str:
    return f"{month:%b %Y}" if month.month == 1 else f"{month:%b}"


def _spread_groups(spreads: dict[str, Spread], labels) -> tuple[list, list]:
    groups = [(labels(key), [s.median, s.p90]) for key, s in spreads.items()]
    notes = [[f"{s.count} in all", f"{s.count} in all"] for s in spreads.values()]
    return groups, notes


def metric_cards(m: Metrics) -> list[Card]:
    months = m.months
    cards = []

    # On time
    ended, on_time = m.on_time_total()
    by_month = m.on_time_by_month()
    card = Card(
        "on-time",
        "On-time rate",
        f"{percent(on_time, ended)} of {ended} phase{'s' if ended != 1 else ''} on time",
        "The share of phases that ended on or before their planned end, of the phases with a "
        "planned end that ended in the period.",
        "No phase ended in this period.",
        downloads=[("on-time", "Phases ended (CSV)")],
        table_head=("Phase", "Ended", "On time", "Rate"),
    )
    if ended:
        card.charts.append(
            bar_chart(
                title="Phases ended on time, by month",
                groups=[(_month(c.month), [100 * c.rate if c.total else None]) for c in by_month],
                notes=[[f"{c.hits} of {c.total} phases"] for c in by_month],
                series=["On time"],
                unit="%",
                top=100,
                y_caption="on time (%)",
                x_caption="month the phase ended",
            )
        )
        for kind in m.on_time:
            total, hits = m.on_time_total(kind)
            card.table.append((PhaseKind(kind).label, str(total), str(hits), percent(hits, total)))
    cards.append(card)

    # Slip
    overall = m.overall.get("slip")
    card = Card(
        "slip",
        "Slip",
        f"median {days(overall.median)}, 90th percentile {days(overall.p90)}" if overall else "—",
        "Days from a phase's planned end to its actual end (0 when on time), per phase kind: "
        "half the phases slip less than the median, nine in ten less than the 90th percentile.",
        "No phase ended in this period.",
        downloads=[("on-time", "Phases ended (CSV)")],
    )
    if m.slip:
        groups, notes = _spread_groups(m.slip, lambda k: PhaseKind(k).label)
        card.charts.append(
            bar_chart(
                title="Slip per phase kind",
                groups=groups,
                notes=notes,
                series=["Median", "90th percentile"],
                unit="days",
                y_caption="days late",
                x_caption="phase",
            )
        )
    cards.append(card)

    # Approval wait
    overall = m.overall.get("wait")
    card = Card(
        "approval-wait",
        "Approval wait",
        f"median {days(overall.median)}, 90th percentile {days(overall.p90)}" if overall else "—",
        "Time from requesting a gate's approval to the decision that passed or rejected it, "
        "per gate; below, the approvers whose decisions kept a gate waiting longest.",
        "No gate was decided in this period.",
        downloads=[("approval-wait", "Gate rounds (CSV)"), ("approvers", "Decisions (CSV)")],
        table_head=("Approver", "Gate", "Decisions", "Mean wait", "Longest wait"),
    )
    if m.approval_wait:
        groups, notes = _spread_groups(m.approval_wait, lambda g: Gate(g).label)
        card.charts.append(
            bar_chart(
                title="Approval wait per gate",
                groups=groups,
                notes=notes,
                series=["Median", "90th percentile"],
                unit="days",
                y_caption="days waited",
                x_caption="gate",
            )
        )
        card.table = [
            (a.name, Gate(a.gate).label, str(a.decisions), days(a.mean_days), days(a.longest_days))
            for a in m.approvers
        ]
    cards.append(card)

    # Lead time
    overall = m.overall.get("lead")
    card = Card(
        "lead-time",
        "Lead time",
        f"median {days(overall.median)}, 90th percentile {days(overall.p90)}" if overall else "—",
        "Time from submitting a train to its successful deployment, per train type, of the "
        "trains deployed in the period.",
        "No train was deployed in this period.",
        downloads=[("lead-time", "Trains closed (CSV)")],
    )
    if m.lead_time:
        groups, notes = _spread_groups(m.lead_time, lambda t: TrainType(t).label)
        card.charts.append(
            bar_chart(
                title="Lead time per train type",
                groups=groups,
                notes=notes,
                series=["Median", "90th percentile"],
                unit="days",
                y_caption="days",
                x_caption="train type",
            )
        )
    cards.append(card)

    # Deployment
    attempts, failures = m.deployment_total()
    successes = attempts - failures
    per_month = successes / len(months) if months else 0
    restore = m.restore
    card = Card(
        "deployments",
        "Deployments",
        f"{per_month:.1f} a month · change failure rate {percent(failures, attempts)} · "
        f"time to restore {days(restore.median) if restore else '—'}",
        "Successful deployments a month (frequency); failed attempts of all attempts (change "
        "failure rate); the median time from a failed attempt to its train's successful "
        "deployment (time to restore).",
        "No deployment was attempted in this period.",
        downloads=[("deployments", "Attempts (CSV)"), ("restore", "Restores (CSV)")],
    )
    if attempts:
        rows = [m.deployments.get(month) for month in months]
        card.charts.append(
            bar_chart(
                title="Deployment attempts by month",
                groups=[
                    (_month(month), [c.total - c.hits, c.hits] if c else [None, None])
                    for month, c in zip(months, rows, strict=True)
                ],
                notes=[
                    [f"of {c.total} attempts", percent(c.hits, c.total) + " failed"]
                    if c
                    else ["", ""]
                    for c in rows
                ],
                series=["Succeeded", "Failed"],
                unit="",
                y_caption="attempts",
                x_caption="month",
            )
        )
    cards.append(card)

    # Rejections
    total = m.rejection_total()
    card = Card(
        "rejections",
        "Rejections",
        f"{total} rejection{'s' if total != 1 else ''}",
        "Decisions that rejected a train at a gate, per gate, with the words their reasons "
        "gave most often.",
        "No train was rejected in this period.",
        downloads=[("rejections", "Rejections (CSV)")],
    )
    if total:
        gates = [g for g in Gate if g in m.rejections]
        card.charts.append(
            bar_chart(
                title="Rejections per gate",
                groups=[(Gate(g).label, [float(m.rejection_total(g))]) for g in gates],
                series=["Rejections"],
                unit="",
                y_caption="rejections",
                x_caption="gate",
            )
        )
        card.words = [(Gate(g).label, words) for g, words in m.rejection_words.items()]
    cards.append(card)

    # Emergency share
    closed, emergencies = m.closed_total()
    card = Card(
        "emergency-share",
        "Emergency share",
        f"{percent(emergencies, closed)} of {closed} train{'s' if closed != 1 else ''} deployed",
        "Emergency trains among all trains deployed (closed), per month.",
        "No train was deployed in this period.",
        downloads=[("emergency-share", "Trains closed (CSV)")],
    )
    if closed:
        rows = [m.closed.get(month) for month in months]
        card.charts.append(
            bar_chart(
                title="Emergency trains among trains deployed, by month",
                groups=[
                    (_month(month), [100 * c.rate if c else None])
                    for month, c in zip(months, rows, strict=True)
                ],
                notes=[[f"{c.hits} of {c.total} trains"] if c else [""] for c in rows],
                series=["Emergency"],
                unit="%",
                top=100,
                y_caption="emergency (%)",
                x_caption="month deployed",
            )
        )
    cards.append(card)
    return cards
