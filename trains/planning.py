"""Plans, names and cadences: the pure rules behind templates, clones and schedules.

- A **plan** is a train with its dates as offsets in days from its start: `plan_of`
  reads one from a train, `shifted` gives its dates for another start. Cloning and
  templates both use it, so a phase keeps its length (and an emergency train its
  compressed schedule) wherever the window starts.
- A **name pattern** names a train from its start day: `{year}.{month:02} Monthly train`.
  `render_name` fills it; `check_pattern` refuses unknown placeholders;
  `pattern_from_name` guesses one from a train's name.
- A **cadence** gives the days the trains of a schedule start: `occurrences`.
"""

from __future__ import annotations

import calendar
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from guardian.shortcuts import get_groups_with_perms, get_users_with_perms

from trains.choices import PHASE_ORDER
from trains.template_models import Cadence

WEEKDAYS = list(calendar.day_name)  # Monday … Sunday
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}


# Name patterns -----------------------------------------------------------------------

PLACEHOLDERS = {
    "year": "the start's year (2027)",
    "month": "its month as a number ({month:02} gives 01)",
    "month_name": "its month's name (January)",
    "day": "its day of the month",
    "quarter": "its quarter (1 to 4)",
    "week": "its ISO week number",
}
PLACEHOLDER_HELP = "Placeholders: " + ", ".join("{" + p + "}" for p in PLACEHOLDERS) + "."


def _values(day: date) -> dict[str, object]:
    return {
        "year": day.year,
        "month": day.month,
        "month_name": calendar.month_name[day.month],
        "day": day.day,
        "quarter": (day.month - 1) // 3 + 1,
        "week": day.isocalendar().week,
    }


def check_pattern(pattern: str) -> None:
    """Refuse a pattern with an unknown placeholder or a format that cannot fill it."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    except ValueError as error:  # a lone { or }
        raise ValidationError(
            f"The name pattern is not well formed ({error}): write {{{{ and }}}} for braces."
        ) from None
    for field in fields:
        if field not in PLACEHOLDERS:
            shown = "{" + field + "}" if field else "{}"
            raise ValidationError(
                f"Unknown placeholder {shown} in the name pattern. {PLACEHOLDER_HELP}"
            )
    try:
        render_name(pattern, date(2027, 1, 4))
    except (ValueError, TypeError) as error:
        raise ValidationError(f"The name pattern cannot be filled in: {error}.") from None
    if not render_name(pattern, date(2027, 1, 4)).strip():
        raise ValidationError("The name pattern makes an empty name.")


def render_name(pattern: str, day: date) -> str:
    return pattern.format_map(_values(day)).strip()


def pattern_from_name(name: str, start: date) -> str:
    """A pattern that gives this name for this start: the start's year and month in the
    name become placeholders ("2026.11 Monthly train" → "{year}.{month:02} Monthly
    train"). A name without them is its own pattern."""
    pattern = name.replace("{", "{{").replace("}", "}}")
    for sep in (".", "-", "/"):
        pattern = pattern.replace(
            f"{start.year}{sep}{start.month:02}", f"{{year}}{sep}{{month:02}}"
        )
    pattern = pattern.replace(calendar.month_name[start.month], "{month_name}")
    pattern = pattern.replace(f"Q{(start.month - 1) // 3 + 1}", "Q{quarter}")
    return pattern.replace(str(start.year), "{year}")


# Plans -------------------------------------------------------------------------------


def _offset(day: date | None, start: date) -> int | None:
    return None if day is None else (day - start).days


def plan_of(train) -> dict:
    """The train's plan: dates as offsets from its start, and what a copy takes along
    (approval requirements, exit criteria unticked, milestones, engineers, sharing)."""
    start = train.start_date
    users = get_users_with_perms(train, attach_perms=True, with_group_users=False)
    groups = get_groups_with_perms(train, attach_perms=True)
    return {
        "phase_ends": {p.kind: _offset(p.planned_end, start) for p in train.phases.all()},
        "milestones": [
            {"name": m.name, "offset": _offset(m.due_date, start)}
            for m in train.milestones.order_by("due_date", "id")
        ],
        "criteria": [
            {
                "phase": c.phase,
                "description": c.description,
                "required": c.required,
                "rule": c.rule,
                "due_offset": _offset(c.due_date, start),
            }
            for c in train.criteria.order_by("id")
        ],
        "requirements": [
            {
                "gate": r.gate,
                "user": r.user_id,
                "group": r.group_id,
                "required_approvals": r.required_approvals,
            }
            for r in train.approval_requirements.order_by("gate", "id")
        ],
        "release_engineers": sorted(u.pk for u in train.release_engineers.all()),
        "sharing": {
            "users": sorted([u.pk, _level(perms)] for u, perms in users.items()),
            "groups": sorted([g.pk, _level(perms)] for g, perms in groups.items()),
        },
    }


def _level(perms: list[str]) -> str:
    return "manage" if "manage_releasetrain" in perms else "view"


@dataclass(frozen=True)
class Dates:
    start_date: date
    end_date: date
    phase_ends: dict[str, date | None]


def shifted(plan: dict, duration_days: int, start: date) -> Dates:
    """The plan's window and phase ends for a train starting on `start`."""
    ends = plan.get("phase_ends", {})
    return Dates(
        start_date=start,
        end_date=start + timedelta(days=duration_days),
        phase_ends={
            kind: None if ends.get(kind) is None else start + timedelta(days=ends[kind])
            for kind in PHASE_ORDER
        },
    )


def at(start: date, offset: int | None) -> date | None:
    return None if offset is None else start + timedelta(days=offset)


# Cadences ----------------------------------------------------------------------------


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _nth_weekday(year: int, month: int, weekday: int, ordinal: int) -> date | None:
    days = [
        date(year, month, d)
        for d in range(1, calendar.monthrange(year, month)[1] + 1)
        if date(year, month, d).weekday() == weekday
    ]
    if ordinal == -1:
        return days[-1]
    return days[ordinal - 1] if ordinal <= len(days) else None


def occurrences(schedule, *, after: date | None = None) -> Iterator[date]:
    """The days the schedule's trains start, in order, from its start (or from `after`,
    inclusive) until its end. Endless when it has none: take what you need."""
    start, end = schedule.start_date, schedule.end_date
    after = max(after or start, start)
    cadence = schedule.cadence
    if cadence == Cadence.WEEKS:
        step = timedelta(weeks=schedule.interval)
        skip = max(0, (after - start).days // step.days)
        day = start + step * skip
        while end is None or day <= end:
            if day >= after:
                yield day
            day += step
        return
    months = 3 if cadence == Cadence.QUARTERLY else schedule.interval
    k = max(0, ((after.year - start.year) * 12 + after.month - start.month) // months - 1)
    while True:
        year, month = _add_months(start.year, start.month, k * months)
        if cadence == Cadence.QUARTERLY:
            day = date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
        else:
            day = _nth_weekday(year, month, schedule.weekday, schedule.ordinal)
        k += 1
        if day is None or day < after:
            continue
        if end is not None and day > end:
            return
        yield day


def describe_schedule(schedule) -> str:
    """In words: "first Monday of every month from 2027-01-04"."""
    since = f"from {schedule.start_date.isoformat()}"
    until = f" until {schedule.end_date.isoformat()}" if schedule.end_date else ""
    if schedule.cadence == Cadence.WEEKS:
        every = "every week" if schedule.interval == 1 else f"every {schedule.interval} weeks"
        return f"{every} {since}{until}"
    if schedule.cadence == Cadence.QUARTERLY:
        return f"quarterly {since}{until}"
    months = "every month" if schedule.interval == 1 else f"every {schedule.interval} months"
    weekday = WEEKDAYS[schedule.weekday] if schedule.weekday is not None else "?"
    ordinal = ORDINALS.get(schedule.ordinal, "?")
    return f"{ordinal} {weekday} of {months} {since}{until}"


NAMES_CHECKED = 24  # windows whose names must differ: two years of a monthly train


def check_schedule(schedule) -> None:
    """Refuse a schedule that cannot work, each problem on its field: an end before the
    start, a monthly weekday without its weekday, an unknown placeholder, a pattern that
    names two of its trains alike."""
    errors: dict[str, str] = {}
    if schedule.end_date and schedule.start_date and schedule.end_date < schedule.start_date:
        errors["end_date"] = "The schedule cannot end before it starts."
    if schedule.interval is None or schedule.interval < 1:
        errors["interval"] = "The interval is at least 1."
    if schedule.cadence == Cadence.MONTHLY_WEEKDAY:
        if schedule.ordinal not in ORDINALS:
            errors["ordinal"] = "Choose which weekday of the month: 1 to 4, or -1 for the last."
        if schedule.weekday is None or not 0 <= schedule.weekday <= 6:
            errors["weekday"] = "Choose a weekday."
    try:
        check_pattern(schedule.pattern)
    except ValidationError as error:
        errors["name_pattern"] = " ".join(error.messages)
    if errors:
        raise ValidationError(errors)
    seen: dict[str, date] = {}
    for day in _first(occurrences(schedule), NAMES_CHECKED):
        name = render_name(schedule.pattern, day).casefold()
        if name in seen:
            raise ValidationError(
                {
                    "name_pattern": (
                        f"The pattern names the trains of {seen[name]} and {day} alike "
                        f"(“{render_name(schedule.pattern, day)}”): add {{month:02}}, "
                        "{day} or {week} so each train has its own name."
                    )
                }
            )
        seen[name] = day


def _first(days: Iterator[date], n: int) -> list[date]:
    taken = []
    for day in days:
        taken.append(day)
        if len(taken) >= n:
            break
    return taken


def upcoming(schedule, *, today: date, ahead: int) -> list[date]:
    """The starts of the next `ahead` trains of the schedule, today included."""
    return _first(occurrences(schedule, after=today), ahead)
