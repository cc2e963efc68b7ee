"""Re-planning: moving a train's dates with a reason, its baselines, and the release
manager's word on its health."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from releasemgr.exceptions import InvalidState, NotAllowed
from trains import access
from trains.choices import PHASE_ORDER, EventKind, Health, PhaseKind, TrainState
from trains.models import Baseline, Milestone, ReleaseTrain
from trains.services.common import User, lock_train, record, require_open, take_baseline
from trains.services.trains import _changes, _clean_train, refuse_moving_ended_phases

REASON_MAX = 500


def _reason(reason: str, what: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": f"Give a reason to {what}."})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason under {REASON_MAX} characters."})
    return reason


def plan_move(
    *,
    train: ReleaseTrain,
    by: User,
    reason: str,
    phase_ends: dict[str, date | None] | None = None,
    milestone_dues: dict[int, date] | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
) -> ReleaseTrain:
    """Move the train's window, phase ends and milestones, saying why. The schedule's
    rules are the train form's (`_clean_train`: inside the window, in order); an ended
    phase keeps its end, a reached milestone its date. One history row lists each date
    old → new; moving nothing writes none."""
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers can move its dates.")
    reason = _reason(reason, "move the dates")
    phase_ends = {PhaseKind(k): v for k, v in (phase_ends or {}).items()}
    milestone_dues = milestone_dues or {}
    with transaction.atomic():
        locked = lock_train(train)
        require_open(locked)
        phases = {p.kind: p for p in locked.phases.all()}
        ends = {kind: p.planned_end for kind, p in phases.items()}
        refuse_moving_ended_phases(phases.values(), phase_ends)
        ends.update(phase_ends)
        changes: list[tuple[str, object, object]] = []
        for field, value in (("start_date", start_date), ("end_date", end_date)):
            if value is not None and getattr(locked, field) != value:
                changes.append((field, getattr(locked, field), value))
                setattr(locked, field, value)
        _clean_train(locked, ends)
        milestones = {m.pk: m for m in locked.milestones.all()}
        moved: list[tuple[Milestone, date, date]] = []
        errors: dict[str, list[str]] = {}
        for pk, due in milestone_dues.items():
            milestone = milestones.get(pk)
            if milestone is None:
                errors.setdefault("milestones", []).append(f"No milestone {pk} on this train.")
            elif due != milestone.due_date and milestone.reached_at is not None:
                errors.setdefault("milestones", []).append(
                    f"{milestone.name} was reached; its date cannot move."
                )
            elif due != milestone.due_date:
                moved.append((milestone, milestone.due_date, due))
        for milestone in milestones.values():
            due = milestone_dues.get(milestone.pk, milestone.due_date)
            if not locked.start_date <= due <= locked.end_date:
                errors.setdefault("milestones", []).append(
                    f"{milestone.name} ({due}) must fall inside the train's dates "
                    f"({locked.start_date} to {locked.end_date})."
                )
        if errors:
            raise ValidationError(errors)
        if changes:
            locked.save(update_fields=[f for f, _, _ in changes] + ["updated_at"])
        for kind in PHASE_ORDER:
            phase = phases[kind]
            if ends.get(kind) != phase.planned_end:
                changes.append((f"phase_{kind}", phase.planned_end, ends.get(kind)))
                phase.planned_end = ends.get(kind)
                phase.save(update_fields=["planned_end"])
        for milestone, _old, new in moved:
            milestone.due_date = new
            milestone.save(update_fields=["due_date"])
        if not changes and not moved:
            return locked
        message, data = _changes(changes) if changes else ("Moved", {"changes": {}})
        if moved:
            words = "; ".join(f"milestone {m.name}: {old} → {new}" for m, old, new in moved)
            message = f"{message}; {words}" if changes else f"Moved {words}"
            data["milestones"] = {
                str(m.pk): [old.isoformat(), new.isoformat()] for m, old, new in moved
            }
        data["reason"] = reason
        record(locked, EventKind.PLAN, by, f"{message}. Reason: {reason}", data=data)
    return locked


def baseline_take(*, train: ReleaseTrain, by: User, reason: str) -> Baseline:
    """Take a new baseline on purpose: the plan as it stands now becomes what slip is
    measured against. The earlier ones stay."""
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers can take a baseline.")
    reason = _reason(reason, "take a new baseline")
    with transaction.atomic():
        locked = lock_train(train)
        require_open(locked)
        if locked.state == TrainState.SCOPING:
            raise InvalidState(
                "The plan is still being scoped: its first baseline is taken when "
                "construction starts."
            )
        return take_baseline(locked, by, reason)


def health_override_set(
    *, train: ReleaseTrain, by: User, health: str, reason: str, until: date
) -> ReleaseTrain:
    """Say what the train's health is, why, and until when (that day it lapses and the
    computed health shows again)."""
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers can override its health.")
    if health not in Health.values:
        raise ValidationError({"health": "Choose green, amber or red."})
    reason = _reason(reason, "override the health")
    today = timezone.localdate()
    if until is None or until <= today:
        raise ValidationError({"until": "The override must last until a day after today."})
    with transaction.atomic():
        locked = lock_train(train)
        require_open(locked)
        locked.health_override = health
        locked.health_override_reason = reason
        locked.health_override_until = until
        locked.health_override_by = by
        locked.health_override_at = timezone.now()
        locked.save(
            update_fields=[
                "health_override",
                "health_override_reason",
                "health_override_until",
                "health_override_by",
                "health_override_at",
                "updated_at",
            ]
        )
        record(
            locked,
            EventKind.HEALTH,
            by,
            f"Health set to {Health(health).label.lower()} until {until}: {reason}",
            data={"health": health, "until": until.isoformat(), "reason": reason},
        )
    return locked


def health_override_clear(*, train: ReleaseTrain, by: User, reason: str = "") -> ReleaseTrain:
    """Take the override away: the computed health shows again."""
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers can override its health.")
    reason = " ".join((reason or "").split())[:REASON_MAX]
    with transaction.atomic():
        locked = lock_train(train)
        require_open(locked)
        if not locked.health_override:
            return locked
        old = locked.health_override
        locked.health_override = ""
        locked.health_override_reason = ""
        locked.health_override_until = None
        locked.health_override_by = None
        locked.health_override_at = None
        locked.save(
            update_fields=[
                "health_override",
                "health_override_reason",
                "health_override_until",
                "health_override_by",
                "health_override_at",
                "updated_at",
            ]
        )
        record(
            locked,
            EventKind.HEALTH,
            by,
            f"Health override ({Health(old).label.lower()}) cleared"
            + (f": {reason}" if reason else ""),
            data={"health": "", "cleared": old, "reason": reason},
        )
    return locked
