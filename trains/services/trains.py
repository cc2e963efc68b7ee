"""Trains: submit, change, move, deploy, share; milestones."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from applications.models import ApplicationRelease
from releasemgr import roles
from releasemgr.exceptions import (
    ConditionsUnmet,
    InvalidState,
    NotAllowed,
    ServiceError,
)
from releasemgr.people import name_of
from trains import access, workflow
from trains.choices import (
    OPEN_STATES,
    PHASE_ORDER,
    CriterionCheck,
    EventKind,
    PhaseKind,
    TrainState,
    TrainType,
)
from trains.models import (
    Deployment,
    ExitCriterion,
    Milestone,
    Phase,
    ReleaseTrain,
    ReleaseTrainGroupObjectPermission,
    ReleaseTrainUserObjectPermission,
)
from trains.services.common import (
    User,
    clean_reason,
    lock_train,
    record,
    require_open,
    run_step,
    stamp_phases,
)
from trains.services.gates import requirements_check

TRAIN_FIELDS = ("name", "purpose", "train_type", "primary_manager", "start_date", "end_date")
SHOWN_MAX = 80  # a changed text longer than this is cut short in the history's message


def _clean_train(train: ReleaseTrain, phase_ends: dict[str, date | None]) -> None:
    """Validate a train's fields and schedule, reporting every problem at once.

    The state is left out of full_clean: it is the FSM's, and the open-name constraint
    depends on it, so that one is checked here by hand.
    """
    errors: dict[str, list[str]] = {}
    try:
        train.full_clean(exclude=["state"])
    except ValidationError as error:
        errors.update(error.message_dict)
    duplicate = (
        ReleaseTrain.objects.filter(name__iexact=train.name, state__in=OPEN_STATES)
        .exclude(pk=train.pk)
        .exists()
    )
    if train.name and duplicate:
        errors.setdefault("name", []).append("An open train already has this name.")
    try:
        validate_schedule(
            train_type=train.train_type,
            start_date=train.start_date,
            end_date=train.end_date,
            phase_ends=phase_ends,
        )
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(
                m for m in messages if m not in errors.get(field, [])
            )
    if "end_date" in errors:
        # the window's check constraint says the same thing without naming the field
        errors.pop("__all__", None)
    if errors:
        raise ValidationError(errors)


def validate_schedule(
    *, train_type: str, start_date: date, end_date: date, phase_ends: dict[str, date | None]
) -> None:
    """Phase end dates lie inside the train's window and in phase order.

    An emergency train may compress its schedule: several phases may end the same day.
    """
    errors: dict[str, str] = {}
    if start_date and end_date and end_date < start_date:
        errors["end_date"] = "The train cannot end before it starts."
    previous: tuple[str, date] | None = None
    for kind in PHASE_ORDER:
        end = phase_ends.get(kind)
        if end is None:
            continue
        field = f"phase_{kind}"
        if start_date and end < start_date:
            errors[field] = f"{kind.label} cannot end before the train starts ({start_date})."
        elif end_date and end > end_date:
            errors[field] = f"{kind.label} cannot end after the train ends ({end_date})."
        elif previous is not None:
            prev_label, prev_end = previous
            too_early = end < prev_end if train_type == TrainType.EMERGENCY else end <= prev_end
            if too_early:
                errors[field] = f"{kind.label} must end after {prev_label} ({prev_end})."
        previous = (kind.label, end)
    if errors:
        raise ValidationError(errors)


def refuse_moving_ended_phases(phases, new_ends: dict[str, date | None]) -> None:
    """An ended phase keeps its planned end: the plan it was measured against."""
    errors = {}
    for phase in phases:
        moved = phase.kind in new_ends and new_ends[phase.kind] != phase.planned_end
        if moved and phase.actual_end is not None:
            label = PhaseKind(phase.kind).label
            errors[f"phase_{phase.kind}"] = (
                f"{label} ended on {timezone.localdate(phase.actual_end)}; its planned "
                "end cannot move any more."
            )
    if errors:
        raise ValidationError(errors)


def train_create(
    *,
    by: User,
    name: str,
    train_type: str,
    primary_manager: User,
    start_date: date,
    end_date: date,
    purpose: str = "",
    phase_ends: dict[str, date | None] | None = None,
    release_engineers: Iterable[User] = (),
    viewer_groups: Iterable[str] = (roles.QA, roles.RELEASE_ENGINEERS),
) -> ReleaseTrain:
    """Submit a train in scoping, with its four phases and default exit criteria."""
    if not access.may_create_trains(by):
        raise NotAllowed("Only release managers can submit trains.")
    if not roles.has_role(primary_manager, roles.RELEASE_MANAGERS):
        raise ValidationError({"primary_manager": "The primary manager must be a release manager."})
    phase_ends = phase_ends or {}
    train = ReleaseTrain(
        name=(name or "").strip(),
        purpose=purpose,
        train_type=train_type,
        primary_manager=primary_manager,
        start_date=start_date,
        end_date=end_date,
        created_by=by,
    )
    _clean_train(train, phase_ends)
    with transaction.atomic():
        try:
            with transaction.atomic():
                train.save()
        except IntegrityError:
            raise ValidationError({"name": "An open train already has this name."}) from None
        Phase.objects.bulk_create(
            Phase(train=train, kind=kind, position=i, planned_end=phase_ends.get(kind))
            for i, kind in enumerate(PHASE_ORDER)
        )
        ExitCriterion.objects.bulk_create(
            [
                ExitCriterion(
                    train=train, phase=phase, rule=check, description=CriterionCheck(check).label
                )
                for phase, check in workflow.DEFAULT_CRITERIA
            ]
            + [
                ExitCriterion(train=train, phase=phase, description=text)
                for phase, text in workflow.DEFAULT_MANUAL_CRITERIA
            ]
        )
        train.release_engineers.set(release_engineers)
        _grant_new(train, primary_manager, viewer_groups)
        stamp_phases(train, "", TrainState.SCOPING)
        record(train, EventKind.CREATED, by, f"Train {train.name} submitted", to_state=train.state)
    return train


def _grant_new(train: ReleaseTrain, manager, viewer_groups: Iterable[str]) -> None:
    """A new train's object permissions: manage and view for its primary manager, view
    for the viewer groups; in four queries (guardian's assign_perm takes three a row,
    to look for a row that a new train cannot have yet)."""
    perms = dict(
        Permission.objects.filter(
            content_type__app_label=ReleaseTrain._meta.app_label,
            content_type__model=ReleaseTrain._meta.model_name,
            codename__in=[access.MANAGE_PERM, access.VIEW_PERM],
        ).values_list("codename", "pk")
    )
    ReleaseTrainUserObjectPermission.objects.bulk_create(
        ReleaseTrainUserObjectPermission(
            content_object=train, user=manager, permission_id=perms[codename]
        )
        for codename in (access.MANAGE_PERM, access.VIEW_PERM)
    )
    ReleaseTrainGroupObjectPermission.objects.bulk_create(
        ReleaseTrainGroupObjectPermission(
            content_object=train, group=group, permission_id=perms[access.VIEW_PERM]
        )
        for group in Group.objects.filter(name__in=list(viewer_groups))
    )


def train_update(
    *,
    train: ReleaseTrain,
    by: User,
    phase_ends: dict[str, date | None] | None = None,
    release_engineers: Iterable[User] | None = None,
    **fields,
) -> ReleaseTrain:
    """Change a train's details or schedule. Schedules slip, so dates stay editable.

    The history row says what changed, from what to what (`_changes`); when nothing
    changed there is none.
    """
    unknown = set(fields) - set(TRAIN_FIELDS)
    if unknown:
        raise ServiceError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers can change it.")
    with transaction.atomic():
        locked = lock_train(train)
        require_open(locked)
        changes: list[tuple[str, object, object]] = []  # (field, old, new)
        for field in TRAIN_FIELDS:
            if field not in fields:
                continue
            value = fields[field]
            if field == "name":
                value = (value or "").strip()
            old = getattr(locked, field)
            if old != value:
                setattr(locked, field, value)
                changes.append((field, old, value))
        manager = fields.get("primary_manager")
        if manager is not None and not roles.has_role(manager, roles.RELEASE_MANAGERS):
            raise ValidationError(
                {"primary_manager": "The primary manager must be a release manager."}
            )
        manager_changed = any(field == "primary_manager" for field, _, _ in changes)
        if manager_changed:
            requirements_check(locked)
        phases = {p.kind: p for p in locked.phases.all()}
        ends = {kind: p.planned_end for kind, p in phases.items()}
        if phase_ends is not None:
            refuse_moving_ended_phases(phases.values(), phase_ends)
            ends.update(phase_ends)
        _clean_train(locked, ends)
        if changes:  # so far, the train's own fields
            locked.save()
        for kind in PHASE_ORDER:
            phase = phases[kind]
            if ends.get(kind) != phase.planned_end:
                changes.append((f"phase_{kind}", phase.planned_end, ends.get(kind)))
                phase.planned_end = ends.get(kind)
                phase.save(update_fields=["planned_end"])
        if release_engineers is not None:
            old_engineers = list(locked.release_engineers.all())
            new_engineers = list(release_engineers)
            if {u.pk for u in old_engineers} != {u.pk for u in new_engineers}:
                locked.release_engineers.set(new_engineers)
                changes.append(("release_engineers", old_engineers, new_engineers))
        if manager_changed:
            assign_perm(access.MANAGE_PERM, locked.primary_manager, locked)
            assign_perm(access.VIEW_PERM, locked.primary_manager, locked)
        if changes:
            message, data = _changes(changes)
            record(locked, EventKind.UPDATED, by, message, data=data)
    return locked


def _changes(changes: list[tuple[str, object, object]]) -> tuple[str, dict]:
    """The history's message and data for a train's changes: each field with its old and
    new value, people by name and dates as YYYY-MM-DD in the message (long texts cut
    short), ids and ISO dates in `data["changes"]` (whole: JSON keeps it)."""
    return (
        "Changed "
        + "; ".join(f"{_label(f)}: {_shown(f, old)} → {_shown(f, new)}" for f, old, new in changes),
        {"changes": {f: [_kept(old), _kept(new)] for f, old, new in changes}},
    )


def _label(field: str) -> str:
    if field.startswith("phase_"):
        return f"{PhaseKind(field.removeprefix('phase_')).label.lower()} end"
    return str(ReleaseTrain._meta.get_field(field).verbose_name)


def _shown(field: str, value) -> str:
    if field == "train_type":
        return TrainType(value).label
    if isinstance(value, list):
        return ", ".join(sorted(map(name_of, value), key=str.casefold)) or "none"
    if isinstance(value, Model):
        return name_of(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is None or value == "":
        return "none"
    text = " ".join(str(value).split())
    return text if len(text) <= SHOWN_MAX else text[: SHOWN_MAX - 1] + "…"


def _kept(value):
    if isinstance(value, list):
        return sorted(u.pk for u in value)
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, date):
        return value.isoformat()
    return value


def train_transition(
    *, train: ReleaseTrain, name: str, by: User, reason: str = "", shown_state: str = ""
) -> ReleaseTrain:
    """Take one of the manual steps: start construction, request an approval, cancel.
    Cancelling also frees the train's application releases (`_free_releases`).
    `shown_state`: the state of the page the step was taken from (`lock_train`)."""
    if name not in workflow.MANUAL_STEPS:
        raise ServiceError(f"'{name}' is not a step that can be taken by hand.")
    step = workflow.STEPS[name]
    if not access.may(by, step.action, train):
        raise NotAllowed(f"Only the train's release managers can {step.label.lower()}.")
    if step.needs_reason:
        reason = clean_reason(reason, step.label)
    with transaction.atomic():
        locked = lock_train(train, expect_state=True, shown_state=shown_state, by=by)
        if name != "cancel":
            return run_step(locked, name, by, reason)
        freed = _free_releases(locked)  # undone with the rest if the step is refused
        run_step(locked, name, by, reason)
        for release in freed:
            record(
                locked,
                EventKind.RELEASE,
                by,
                f"Freed {release}: the train was cancelled; it may join another train",
                data={"release": release.pk, "freed": True},
                notify=[release.application.product_owner],
            )
        return locked


def _free_releases(train: ReleaseTrain) -> list[ApplicationRelease]:
    """Take every application release off a train being cancelled, so that it can join
    another train; each keeps its development state. Returns them.

    Every release on a cancelled train is unfinished: only a closed train delivered its
    releases, and a closed train cannot be cancelled, so none of these was deployed.
    They are freed before the cancellation is recorded, so that its notifications and
    those of the freed releases (`record` keeps the train's viewers) go only to people
    who may still open the train: a product owner who saw it only through a release
    no longer does.
    """
    releases = list(
        ApplicationRelease.objects.select_for_update(of=("self",))
        .filter(train=train)
        .select_related("application__product_owner")
        .order_by("id")
    )
    for release in releases:
        release.train = None
        release.save(update_fields=["train", "updated_at"])
    return releases


def train_deploy(
    *, train: ReleaseTrain, by: User, succeeded: bool, log: str = "", shown_state: str = ""
) -> Deployment:
    """Record a deployment attempt. Success closes the train; failure keeps it in deployment.
    `shown_state`: the state of the page it was recorded from (`lock_train`)."""
    if not access.may(by, workflow.STEPS["deploy"].action, train):
        raise NotAllowed("Only the train's release managers and release engineers can deploy it.")
    with transaction.atomic():
        locked = lock_train(train, expect_state=True, shown_state=shown_state, by=by)
        if locked.state != TrainState.DEPLOYMENT:
            raise InvalidState(workflow.refusal(locked.state, "deploy"))
        unmet = workflow.unmet(locked, "deploy")
        if unmet:
            raise ConditionsUnmet("deploy", unmet)
        deployment = Deployment.objects.create(
            train=locked, attempted_by=by, succeeded=succeeded, log=log
        )
        message = "Deployment succeeded" if succeeded else "Deployment failed"
        run_step(
            locked,
            "deploy",
            by,
            message,
            data={"deployment": deployment.pk, "succeeded": succeeded},
            succeeded=succeeded,
        )
    return deployment


def train_grant(*, train: ReleaseTrain, by: User, user: User, level: str = "view") -> None:
    """Share a train: view for stakeholders, manage for fellow release managers."""
    if level not in ("view", "manage"):
        raise ServiceError("Access is either 'view' or 'manage'.")
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers can share it.")
    if level == "manage" and not roles.has_role(user, roles.RELEASE_MANAGERS):
        raise ValidationError({"user": "Only release managers can be granted manage."})
    with transaction.atomic():
        locked = lock_train(train)
        assign_perm(access.VIEW_PERM, user, locked)
        if level == "manage":
            assign_perm(access.MANAGE_PERM, user, locked)
        record(
            locked,
            EventKind.ACCESS,
            by,
            f"Granted {level} to {user.get_username()}",
            data={"user": user.pk, "level": level},
        )


def train_revoke(*, train: ReleaseTrain, by: User, user: User) -> None:
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers can change who sees it.")
    if user.pk == train.primary_manager_id:
        raise ValidationError({"user": "The primary release manager always sees the train."})
    with transaction.atomic():
        locked = lock_train(train)
        remove_perm(access.VIEW_PERM, user, locked)
        remove_perm(access.MANAGE_PERM, user, locked)
        record(
            locked,
            EventKind.ACCESS,
            by,
            f"Revoked access of {user.get_username()}",
            data={"user": user.pk},
        )


def milestone_add(*, train: ReleaseTrain, by: User, name: str, due_date: date) -> Milestone:
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers set milestones.")
    with transaction.atomic():
        locked = lock_train(train)
        require_open(locked)
        milestone = Milestone(train=locked, name=(name or "").strip(), due_date=due_date)
        milestone.full_clean()
        if due_date and not (locked.start_date <= due_date <= locked.end_date):
            raise ValidationError({"due_date": "A milestone must fall inside the train's dates."})
        milestone.save()
        record(locked, EventKind.MILESTONE, by, f"Added milestone {milestone} ({due_date})")
    return milestone


def milestone_reach(*, milestone: Milestone, by: User) -> Milestone:
    if not access.can_manage(by, milestone.train):
        raise NotAllowed("Only the train's release managers mark milestones reached.")
    with transaction.atomic():
        locked = lock_train(milestone.train)
        milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
        if milestone.reached_at is None:
            milestone.reached_at = timezone.now()
            milestone.reached_by = by
            milestone.save(update_fields=["reached_at", "reached_by"])
            record(locked, EventKind.MILESTONE, by, f"Reached milestone {milestone}")
    return milestone
