"""Exit criteria: added, removed, made optional, ticked."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from releasemgr.exceptions import (
    InvalidState,
    NotAllowed,
)
from trains import access, workflow
from trains.choices import (
    PHASE_WORK_STATE,
    EventKind,
    PhaseKind,
    TrainState,
)
from trains.models import (
    ExitCriterion,
    ReleaseTrain,
)
from trains.services.common import User, lock_train, record, require_open


def criterion_add(
    *,
    train: ReleaseTrain,
    by: User,
    phase: str,
    description: str,
    required: bool = True,
    due_date: date | None = None,
) -> ExitCriterion:
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers set exit criteria.")
    with transaction.atomic():
        locked = lock_train(train)
        require_open(locked)
        _require_phase_not_passed(locked, phase)
        criterion = ExitCriterion(
            train=locked,
            phase=phase,
            description=description.strip(),
            required=required,
            due_date=due_date,
        )
        criterion.full_clean()
        criterion.save()
        record(
            locked,
            EventKind.CRITERION,
            by,
            f"Added {PhaseKind(phase).label.lower()} exit criterion: {criterion}",
        )
    return criterion


def criterion_remove(*, criterion: ExitCriterion, by: User) -> None:
    train = criterion.train
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers set exit criteria.")
    if not criterion.is_manual:
        raise InvalidState("Automatic criteria cannot be removed; make them optional instead.")
    with transaction.atomic():
        locked = lock_train(train)
        require_open(locked)
        _require_phase_not_passed(locked, criterion.phase)
        record(locked, EventKind.CRITERION, by, f"Removed exit criterion: {criterion}")
        criterion.delete()


def criterion_set_required(*, criterion: ExitCriterion, by: User, required: bool) -> ExitCriterion:
    """Make a criterion required or optional (automatic ones too: they cannot be removed)
    while its phase is not over."""
    train = criterion.train
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers set exit criteria.")
    with transaction.atomic():
        locked = lock_train(train)
        require_open(locked)
        _require_phase_not_passed(locked, criterion.phase)
        criterion = ExitCriterion.objects.select_for_update().get(pk=criterion.pk)
        if criterion.required != required:
            criterion.required = required
            criterion.save(update_fields=["required"])
            record(
                locked,
                EventKind.CRITERION,
                by,
                f"Made {'required' if required else 'optional'}: {criterion}",
                data={"criterion": criterion.pk, "required": required},
            )
    return criterion


def criterion_set_met(*, criterion: ExitCriterion, by: User, met: bool) -> ExitCriterion:
    """Tick or untick a manual criterion while its phase's work is under way."""
    train = criterion.train
    if not access.can_check_criterion(by, train, criterion.phase):
        raise NotAllowed("You may not tick this criterion.")
    if not criterion.is_manual:
        raise InvalidState("This criterion is checked automatically from the train's data.")
    with transaction.atomic():
        locked = lock_train(train)
        work_state = PHASE_WORK_STATE[criterion.phase]
        if locked.state != work_state:
            raise InvalidState(
                f"{PhaseKind(criterion.phase).label} criteria can be ticked only while the "
                f"train is in {TrainState(work_state).label.lower()}."
            )
        criterion = ExitCriterion.objects.select_for_update().get(pk=criterion.pk)
        if (criterion.met_at is not None) == met:
            return criterion  # already so: ticking twice changes nothing
        criterion.met_at = timezone.now() if met else None
        criterion.met_by = by if met else None
        criterion.save(update_fields=["met_at", "met_by"])
        record(
            locked,
            EventKind.CRITERION,
            by,
            f"{'Checked' if met else 'Unchecked'}: {criterion}",
            data={"criterion": criterion.pk, "met": met},
        )
    return criterion


def _require_phase_not_passed(train: ReleaseTrain, phase: str) -> None:
    if workflow.phase_over(train, phase):
        raise InvalidState(
            f"The {PhaseKind(phase).label.lower()} phase is over: its exit criteria can no "
            "longer change."
        )
