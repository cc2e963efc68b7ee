"""Rendering for calendar clients (iCalendar) and spreadsheets (CSV)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from applications.models import ApplicationRelease
from trains.choices import PhaseKind, TrainState
from trains.models import ReleaseTrain


def _host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "releasemgr"


def _event(uid: str, day: date, summary: str, description: str, train: ReleaseTrain) -> Event:
    event = Event()
    event.add("uid", f"{uid}@{_host()}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", day)
    if day < date.max:  # without DTEND an all-day event lasts the day anyway
        event.add("dtend", day + timedelta(days=1))
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", f"{settings.SITE_URL}/trains/{train.pk}/")
    event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    event.add("categories", ["Release train"])
    if train.state == TrainState.CANCELLED:
        event.add("status", "CANCELLED")
    return event


def calendar_feed(trains: Iterable[ReleaseTrain], *, name: str) -> bytes:
    """Phase deadlines and milestones as all-day events, one calendar per user."""
    calendar = Calendar()
    calendar.add("prodid", "-//releasemgr//release trains//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for train in trains:
        state = train.get_state_display()
        for phase in train.phases.all():
            calendar.add_component(
                _event(
                    f"phase-{phase.pk}",
                    phase.planned_end,
                    f"{train.name}: {phase.get_kind_display()} phase ends",
                    f"Planned end of the {phase.get_kind_display().lower()} phase of "
                    f"{train.name} (train now in {state.lower()}).",
                    train,
                )
            )
        for milestone in train.milestones.all():
            reached = " (reached)" if milestone.reached_at else ""
            calendar.add_component(
                _event(
                    f"milestone-{milestone.pk}",
                    milestone.due_date,
                    f"{train.name}: {milestone.name}{reached}",
                    f"Milestone of {train.name} (train now in {state.lower()}).",
                    train,
                )
            )
    return calendar.to_ical()


def _cell(value: object) -> str:
    """A spreadsheet cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def rows_csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    """Any rows as CSV, each cell kept from being read as a formula."""
    return _csv(list(header), rows)


def _csv(header: list[str], rows: Iterable[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


TRAIN_COLUMNS = [
    "id",
    "name",
    "type",
    "state",
    "primary manager",
    "start date",
    "end date",
    "scoping ends",
    "construction ends",
    "verification ends",
    "deployment ends",
    "closed at",
    "url",
]


def trains_csv(trains: Iterable[ReleaseTrain]) -> str:
    def row(train: ReleaseTrain) -> list[object]:
        ends = {p.kind: p.planned_end for p in train.phases.all()}
        return [
            train.pk,
            train.name,
            train.get_train_type_display(),
            train.get_state_display(),
            train.primary_manager.get_username(),
            train.start_date,
            train.end_date,
            *(ends.get(kind) for kind in PhaseKind),
            train.closed_at.isoformat() if train.closed_at else "",
            f"{settings.SITE_URL}/trains/{train.pk}/",
        ]

    return _csv(TRAIN_COLUMNS, (row(t) for t in trains))


RELEASE_COLUMNS = [
    "id",
    "application",
    "version",
    "state",
    "product owner",
    "turnover",
    "turnover decided at",
    "notes",
]


def releases_csv(releases: Iterable[ApplicationRelease]) -> str:
    def row(release: ApplicationRelease) -> list[object]:
        turnovers = list(release.turnovers.all())
        latest = turnovers[0] if turnovers else None
        return [
            release.pk,
            release.application.name,
            release.version,
            release.get_state_display(),
            release.application.product_owner.get_username(),
            latest.get_state_display() if latest else "",
            latest.decided_at.isoformat() if latest and latest.decided_at else "",
            release.notes,
        ]

    return _csv(RELEASE_COLUMNS, (row(r) for r in releases))
