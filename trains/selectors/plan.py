"""Reads for re-planning: the baselines of a train and what changed in its scope since
the latest one (from the history: who and why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from releasemgr.people import name_of
from trains.choices import PHASE_ORDER, EventKind, PhaseKind
from trains.facts import facts_of
from trains.models import Baseline, ReleaseTrain, TrainEvent


@dataclass(frozen=True)
class ScopeChange:
    """A release added to or removed from the train after its baseline."""

    change: str  # "added", "removed" or "freed"
    release: str
    who: str
    when: datetime
    reason: str


def _change_of(event: TrainEvent) -> tuple[str, str, str] | None:
    """(change, release, reason) of a history row that added or removed a release; None
    for the release's other rows (development steps)."""
    data = event.data or {}
    if "transition" in data or "release" not in data:
        return None
    text = event.message
    if data.get("change"):
        change = data["change"]
    elif text.startswith("Added "):
        change = "added"
    elif text.startswith("Removed "):
        change = "removed"
    elif text.startswith("Freed "):
        change = "freed"
    else:
        return None
    words = text.split(" ", 1)[1] if " " in text else text
    release, _, reason = words.partition(": ")
    return change, release, data.get("reason", reason)


def scope_since_baseline(train: ReleaseTrain) -> list[ScopeChange]:
    """Releases added and removed since the latest baseline, oldest first: one query, none
    before there is a baseline."""
    baseline = facts_of(train).baseline
    if baseline is None:
        return []
    events = (
        TrainEvent.objects.filter(
            train=train, kind=EventKind.RELEASE, created_at__gte=baseline.taken_at
        )
        .select_related("actor")
        .order_by("created_at", "id")
    )
    rows = []
    for event in events:
        found = _change_of(event)
        if found:
            change, release, reason = found
            rows.append(
                ScopeChange(change, release, name_of(event.actor), event.created_at, reason)
            )
    return rows


@dataclass(frozen=True)
class BaselinePhase:
    label: str
    end: date | None


@dataclass(frozen=True)
class BaselineView:
    baseline: Baseline
    taken_by: str
    phases: list[BaselinePhase]
    milestones: list[dict]
    releases: list[dict]


def baselines(train: ReleaseTrain) -> list[BaselineView]:
    """Every baseline of the train, newest first, with its plan: one query."""
    rows = []
    for b in train.baselines.select_related("taken_by").order_by("-number"):
        phases = [
            BaselinePhase(
                PhaseKind(kind).label,
                date.fromisoformat(b.phases[kind]) if b.phases.get(kind) else None,
            )
            for kind in PHASE_ORDER
        ]
        rows.append(BaselineView(b, name_of(b.taken_by), phases, b.milestones, b.releases))
    return rows
