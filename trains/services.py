"""Commands on release trains: the only code that changes a train.

Each command checks permission, validates, locks the train row, changes it, writes
the history row and queues notifications, all in one transaction. `trains` is the
orchestrator: it calls the applications and approvals services, then moves the
train when its conditions now hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from applications import services as application_services
from applications.models import ApplicationRelease, Turnover
from approvals import services as approval_services
from approvals.models import ApprovalRequirement, Gate
from approvals.selectors import requirement_eligible
from releasemgr import roles
from releasemgr.exceptions import (
    ConcurrentChange,
    ConditionsUnmet,
    InvalidState,
    NotAllowed,
    ServiceError,
)
from trains import access, signals, workflow
from trains.choices import (
    OPEN_STATES,
    PHASE_ORDER,
    PHASE_WORK_STATE,
    STATE_PHASE,
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
    Notification,
    Phase,
    ReleaseTrain,
    TrainEvent,
)
from trains.notifications.rules import event_notification_kind

User = AbstractBaseUser
EDITABLE_RELEASE_STATES = (TrainState.SCOPING, TrainState.CONSTRUCTION)
TURNOVER_STATES = (
    TrainState.CONSTRUCTION,
    TrainState.DEVELOPMENT_APPROVAL,
    TrainState.VERIFICATION,
    TrainState.EXECUTIVE_APPROVAL,
    TrainState.DEPLOYMENT,
)


# Helpers -----------------------------------------------------------------------------


def _lock(train: ReleaseTrain, *, expect_state: bool = False) -> ReleaseTrain:
    """Lock the train row until the transaction ends and return it fresh.

    With expect_state, refuse when the state changed since the caller read the train:
    two people pressed a button at once and the other one won.
    """
    locked = ReleaseTrain.objects.select_for_update().get(pk=train.pk)
    if expect_state and locked.state != train.state:
        raise ConcurrentChange(
            f"Someone else moved this train first: it is now in "
            f"{locked.get_state_display().lower()}."
        )
    return locked


def _require_open(train: ReleaseTrain) -> None:
    if not train.is_open:
        raise InvalidState(f"This train is {train.get_state_display().lower()}; it cannot change.")


def _record(
    train: ReleaseTrain,
    kind: str,
    by: User | None,
    message: str = "",
    *,
    from_state: str = "",
    to_state: str = "",
    transition: str = "",
    data: dict | None = None,
    notify: Iterable[User] = (),
) -> TrainEvent:
    event = TrainEvent.objects.create(
        train=train,
        kind=kind,
        actor=by,
        from_state=from_state,
        to_state=to_state,
        transition=transition,
        message=message,
        data=data or {},
    )
    recipients = {u.pk for u in notify if u is not None and u.is_active}
    if by is not None:
        recipients.discard(by.pk)  # people do not need to hear about what they just did
    notification_kind = event_notification_kind(
        kind=kind, transition=transition, to_state=to_state, data=event.data
    )
    Notification.objects.bulk_create(
        [
            Notification(event=event, train=train, kind=notification_kind, recipient_id=pk)
            for pk in sorted(recipients)
        ],
        ignore_conflicts=True,
    )
    transaction.on_commit(
        lambda: signals.train_event_recorded.send(sender=TrainEvent, event_id=event.pk)
    )
    return event


def _gate_approvers(train: ReleaseTrain, gate: str) -> list[User]:
    requirements = ApprovalRequirement.objects.filter(train=train, gate=gate)
    named = Q(pk__in=requirements.filter(user__isnull=False).values("user_id"))
    in_group = Q(groups__in=requirements.filter(group__isnull=False).values("group_id"))
    return list(get_user_model().objects.filter(named | in_group, is_active=True).distinct())


def _product_owners(train: ReleaseTrain) -> list[User]:
    UserModel = get_user_model()
    return list(UserModel.objects.filter(owned_applications__releases__train=train).distinct())


def _everyone(train: ReleaseTrain) -> list[User]:
    """Everyone with view rights on the train (as trains.access decides them)."""
    return list(access.users_who_can_view(train))


def _recipients(train: ReleaseTrain, name: str) -> list[User]:
    if name == "request_development_approval":
        return _gate_approvers(train, Gate.DEVELOPMENT)
    if name == "request_executive_approval":
        return _gate_approvers(train, Gate.EXECUTIVE)
    if name in ("reject_development", "reject_executive"):
        return [*_product_owners(train), train.primary_manager]
    if name in ("approve_development", "approve_executive", "start_construction"):
        return [train.primary_manager]
    if name in ("deploy", "cancel"):
        return _everyone(train)
    return []


def _stamp_phases(train: ReleaseTrain, from_state: str, to_state: str) -> None:
    """Record when phases actually start and end (for on-time metrics)."""
    before, after = STATE_PHASE.get(from_state), STATE_PHASE.get(to_state)
    if before == after or to_state == TrainState.CANCELLED:
        return
    now = timezone.now()
    if before is not None:
        Phase.objects.filter(train=train, kind=before, actual_end__isnull=True).update(
            actual_end=now
        )
    if after is not None:
        Phase.objects.filter(train=train, kind=after, actual_start__isnull=True).update(
            actual_start=now
        )


def _run(
    train: ReleaseTrain,
    name: str,
    by: User | None,
    reason: str = "",
    *,
    data: dict | None = None,
    **kwargs,
) -> ReleaseTrain:
    """Run one transition on a locked train: state, conditions, history, notifications."""
    step = workflow.STEPS[name]
    method = getattr(train, name)
    if not method._django_fsm.has_transition(train.state):
        raise InvalidState(
            f"This train is in {train.get_state_display().lower()}; "
            f"'{step.label}' is not possible now."
        )
    unmet = workflow.unmet_conditions(train, name)
    if unmet:
        raise ConditionsUnmet(step.label.lower(), unmet)
    from_state = train.state
    method(**kwargs)
    train.save()
    _stamp_phases(train, from_state, train.state)
    _record(
        train,
        EventKind.TRANSITION,
        by,
        reason,
        from_state=from_state,
        to_state=train.state,
        transition=name,
        data=data,
        notify=_recipients(train, name),
    )
    return train


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


def _clean_reason(reason: str, step_label: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": f"Give a reason to {step_label.lower()}."})
    return reason


# Schedule validation --------------------------------------------------------------


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


# Trains ------------------------------------------------------------------------------


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
    if not roles.has_role(by, roles.RELEASE_MANAGERS):
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
        assign_perm(access.MANAGE, primary_manager, train)
        assign_perm(access.VIEW, primary_manager, train)
        for group in Group.objects.filter(name__in=list(viewer_groups)):
            assign_perm(access.VIEW, group, train)
        _stamp_phases(train, "", TrainState.SCOPING)
        _record(train, EventKind.CREATED, by, f"Train {train.name} submitted", to_state=train.state)
    return train


TRAIN_FIELDS = ("name", "purpose", "train_type", "primary_manager", "start_date", "end_date")


def train_update(
    *,
    train: ReleaseTrain,
    by: User,
    phase_ends: dict[str, date | None] | None = None,
    release_engineers: Iterable[User] | None = None,
    **fields,
) -> ReleaseTrain:
    """Change a train's details or schedule. Schedules slip, so dates stay editable."""
    unknown = set(fields) - set(TRAIN_FIELDS)
    if unknown:
        raise ServiceError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers can change it.")
    with transaction.atomic():
        locked = _lock(train)
        _require_open(locked)
        changed = []
        for field, value in fields.items():
            if field == "name":
                value = (value or "").strip()
            if getattr(locked, field) != value:
                setattr(locked, field, value)
                changed.append(field)
        manager = fields.get("primary_manager")
        if manager is not None and not roles.has_role(manager, roles.RELEASE_MANAGERS):
            raise ValidationError(
                {"primary_manager": "The primary manager must be a release manager."}
            )
        phases = {p.kind: p for p in locked.phases.all()}
        ends = {kind: p.planned_end for kind, p in phases.items()}
        if phase_ends is not None:
            ends.update(phase_ends)
        _clean_train(locked, ends)
        locked.save()
        for kind, phase in phases.items():
            if ends.get(kind) != phase.planned_end:
                phase.planned_end = ends.get(kind)
                phase.save(update_fields=["planned_end"])
                changed.append(f"{PhaseKind(kind).label.lower()} end")
        if release_engineers is not None:
            locked.release_engineers.set(release_engineers)
            changed.append("release engineers")
        if "primary_manager" in changed:
            assign_perm(access.MANAGE, locked.primary_manager, locked)
            assign_perm(access.VIEW, locked.primary_manager, locked)
        if changed:
            _record(locked, EventKind.UPDATED, by, "Changed " + ", ".join(changed))
    return locked


def train_transition(*, train: ReleaseTrain, name: str, by: User, reason: str = "") -> ReleaseTrain:
    """Take one of the manual steps: start construction, request an approval, cancel."""
    if name not in workflow.MANUAL_STEPS:
        raise ServiceError(f"'{name}' is not a step that can be taken by hand.")
    step = workflow.STEPS[name]
    if not access.can_manage(by, train):
        raise NotAllowed(f"Only the train's release managers can {step.label.lower()}.")
    if step.needs_reason:
        reason = _clean_reason(reason, step.label)
    with transaction.atomic():
        locked = _lock(train, expect_state=True)
        return _run(locked, name, by, reason)


def train_deploy(*, train: ReleaseTrain, by: User, succeeded: bool, log: str = "") -> Deployment:
    """Record a deployment attempt. Success closes the train; failure keeps it in deployment."""
    if not access.can_deploy(by, train):
        raise NotAllowed("Only the train's release managers and release engineers can deploy it.")
    with transaction.atomic():
        locked = _lock(train, expect_state=True)
        if locked.state != TrainState.DEPLOYMENT:
            raise InvalidState(
                f"This train is in {locked.get_state_display().lower()}; it can be deployed "
                "only in deployment."
            )
        unmet = workflow.unmet_conditions(locked, "deploy")
        if unmet:
            raise ConditionsUnmet("deploy", unmet)
        deployment = Deployment.objects.create(
            train=locked, attempted_by=by, succeeded=succeeded, log=log
        )
        message = "Deployment succeeded" if succeeded else "Deployment failed"
        _run(
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
        locked = _lock(train)
        assign_perm(access.VIEW, user, locked)
        if level == "manage":
            assign_perm(access.MANAGE, user, locked)
        _record(
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
        locked = _lock(train)
        remove_perm(access.VIEW, user, locked)
        remove_perm(access.MANAGE, user, locked)
        _record(
            locked,
            EventKind.ACCESS,
            by,
            f"Revoked access of {user.get_username()}",
            data={"user": user.pk},
        )


# Approval requirements and decisions --------------------------------------------------


def requirement_add(
    *,
    train: ReleaseTrain,
    by: User,
    gate: str,
    user: User | None = None,
    group: Group | None = None,
    required_approvals: int = 1,
) -> ApprovalRequirement:
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers set approval requirements.")
    with transaction.atomic():
        locked = _lock(train)
        if locked.state != TrainState.SCOPING:
            raise InvalidState("Approval requirements are set in scoping and locked after it.")
        requirement = approval_services.requirement_create(
            train=locked,
            gate=gate,
            user=user,
            group=group,
            required_approvals=required_approvals,
        )
        _record(
            locked,
            EventKind.REQUIREMENT,
            by,
            f"Added approver: {requirement}",
            data={"requirement": requirement.pk},
        )
    return requirement


def requirement_remove(*, requirement: ApprovalRequirement, by: User) -> None:
    train = requirement.train
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers set approval requirements.")
    with transaction.atomic():
        locked = _lock(train)
        if locked.state != TrainState.SCOPING:
            raise InvalidState("Approval requirements are set in scoping and locked after it.")
        label = str(requirement)
        approval_services.requirement_delete(requirement=requirement)
        _record(locked, EventKind.REQUIREMENT, by, f"Removed approver: {label}")


def decision_record(
    *, requirement: ApprovalRequirement, by: User, approve: bool, comment: str = ""
):
    """Record one approver's decision; pass or reject the gate when that settles it."""
    gate = requirement.gate
    gate_state = {
        Gate.DEVELOPMENT: TrainState.DEVELOPMENT_APPROVAL,
        Gate.EXECUTIVE: TrainState.EXECUTIVE_APPROVAL,
    }[gate]
    if not requirement_eligible(requirement=requirement, user=by):
        raise NotAllowed("You are not one of the approvers this requirement asks for.")
    with transaction.atomic():
        train = _lock(requirement.train)
        if train.state != gate_state:
            raise InvalidState(
                f"This train is in {train.get_state_display().lower()}, not waiting for "
                f"{Gate(gate).label.lower()}."
            )
        if gate == Gate.EXECUTIVE and train.primary_manager_id == by.pk:
            raise NotAllowed(
                "The train's primary release manager may not give its executive approval."
            )
        decision = approval_services.decision_create(
            requirement=requirement,
            round=train.round_for(gate),
            user=by,
            approve=approve,
            comment=comment,
            requested_at=train.gate_opened_at or timezone.now(),
        )
        verdict = "approved" if approve else "rejected"
        _record(
            train,
            EventKind.DECISION,
            by,
            f"{by.get_username()} {verdict} ({requirement.approver_label}, round "
            f"{decision.round})" + (f": {decision.comment}" if decision.comment else ""),
            data={
                "decision": decision.pk,
                "gate": gate,
                "round": decision.round,
                "approve": approve,
            },
        )
        if not approve:
            _run(train, f"reject_{gate}", by, decision.comment)
        elif not workflow.unmet_conditions(train, f"approve_{gate}"):
            _run(train, f"approve_{gate}", None, "All approval requirements met")
    return decision


# Exit criteria and milestones -----------------------------------------------------------


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
        locked = _lock(train)
        _require_open(locked)
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
        _record(
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
        locked = _lock(train)
        _require_open(locked)
        _require_phase_not_passed(locked, criterion.phase)
        _record(locked, EventKind.CRITERION, by, f"Removed exit criterion: {criterion}")
        criterion.delete()


def criterion_set_required(*, criterion: ExitCriterion, by: User, required: bool) -> ExitCriterion:
    train = criterion.train
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers set exit criteria.")
    with transaction.atomic():
        locked = _lock(train)
        _require_open(locked)
        _require_phase_not_passed(locked, criterion.phase)
        criterion = ExitCriterion.objects.select_for_update().get(pk=criterion.pk)
        if criterion.required != required:
            criterion.required = required
            criterion.save(update_fields=["required"])
            _record(
                locked,
                EventKind.CRITERION,
                by,
                f"Made {'required' if required else 'optional'}: {criterion}",
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
        locked = _lock(train)
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
        _record(
            locked,
            EventKind.CRITERION,
            by,
            f"{'Checked' if met else 'Unchecked'}: {criterion}",
            data={"criterion": criterion.pk, "met": met},
        )
    return criterion


def _require_phase_not_passed(train: ReleaseTrain, phase: str) -> None:
    current = STATE_PHASE.get(train.state)
    if current is not None and PHASE_ORDER.index(phase) < PHASE_ORDER.index(current):
        raise InvalidState(f"The {PhaseKind(phase).label.lower()} phase is over.")


def milestone_add(*, train: ReleaseTrain, by: User, name: str, due_date: date) -> Milestone:
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers set milestones.")
    with transaction.atomic():
        locked = _lock(train)
        _require_open(locked)
        milestone = Milestone(train=locked, name=(name or "").strip(), due_date=due_date)
        milestone.full_clean()
        if due_date and not (locked.start_date <= due_date <= locked.end_date):
            raise ValidationError({"due_date": "A milestone must fall inside the train's dates."})
        milestone.save()
        _record(locked, EventKind.MILESTONE, by, f"Added milestone {milestone} ({due_date})")
    return milestone


def milestone_reach(*, milestone: Milestone, by: User) -> Milestone:
    if not access.can_manage(by, milestone.train):
        raise NotAllowed("Only the train's release managers mark milestones reached.")
    with transaction.atomic():
        locked = _lock(milestone.train)
        milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
        if milestone.reached_at is None:
            milestone.reached_at = timezone.now()
            milestone.reached_by = by
            milestone.save(update_fields=["reached_at", "reached_by"])
            _record(locked, EventKind.MILESTONE, by, f"Reached milestone {milestone}")
    return milestone


# Application releases and turnovers ----------------------------------------------------


def release_add(*, train: ReleaseTrain, release: ApplicationRelease, by: User) -> None:
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers add application releases.")
    with transaction.atomic():
        locked = _lock(train)
        if locked.state not in EDITABLE_RELEASE_STATES:
            raise InvalidState("Application releases can be added only in scoping or construction.")
        release = ApplicationRelease.objects.select_for_update().get(pk=release.pk)
        if release.train_id == locked.pk:
            raise InvalidState(f"{release} is already on this train.")
        if release.train_id is not None:
            raise InvalidState(f"{release} is already on another train ({release.train}).")
        release.train = locked
        release.save(update_fields=["train", "updated_at"])
        _record(
            locked,
            EventKind.RELEASE,
            by,
            f"Added {release}",
            data={"release": release.pk},
            notify=[release.application.product_owner],
        )


def release_remove(
    *, train: ReleaseTrain, release: ApplicationRelease, by: User, reason: str
) -> None:
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers remove application releases.")
    reason = _clean_reason(reason, "remove the release")
    with transaction.atomic():
        locked = _lock(train)
        if locked.state not in EDITABLE_RELEASE_STATES:
            raise InvalidState(
                "Application releases can be removed only in scoping or construction."
            )
        release = ApplicationRelease.objects.select_for_update().get(pk=release.pk)
        if release.train_id != locked.pk:
            raise InvalidState(f"{release} is not on this train.")
        release.train = None
        release.save(update_fields=["train", "updated_at"])
        _record(
            locked,
            EventKind.RELEASE,
            by,
            f"Removed {release}: {reason}",
            data={"release": release.pk},
            notify=[release.application.product_owner],
        )
        _maybe_request_development_approval(locked)


def release_transition(*, release: ApplicationRelease, name: str, by: User) -> ApplicationRelease:
    """Move a release through development; the last one completed moves the train on."""
    with transaction.atomic():
        train = _lock(release.train) if release.train_id else None
        if train is not None and train.state not in EDITABLE_RELEASE_STATES:
            raise InvalidState(
                f"{release} is on a train in {train.get_state_display().lower()}; its "
                "development can change only in scoping or construction."
            )
        release = application_services.release_transition(release=release, name=name, by=by)
        if train is not None:
            _record(
                train,
                EventKind.RELEASE,
                by,
                f"{release}: {release.get_state_display().lower()}",
                data={"release": release.pk, "transition": name, "to": release.state},
            )
            _maybe_request_development_approval(train)
    return release


def _maybe_request_development_approval(train: ReleaseTrain) -> None:
    if train.state == TrainState.CONSTRUCTION and not workflow.unmet_conditions(
        train, "request_development_approval"
    ):
        _run(
            train,
            "request_development_approval",
            None,
            "All application releases are development-complete",
        )


def turnover_submit(*, release: ApplicationRelease, by: User, description: str) -> Turnover:
    with transaction.atomic():
        train = _lock(release.train) if release.train_id else None
        if train is None or train.state not in TURNOVER_STATES:
            raise InvalidState("A turnover is submitted once the release's train is past scoping.")
        try:
            turnover = application_services.turnover_submit(
                release=release, by=by, description=description
            )
        except IntegrityError:
            raise InvalidState(f"{release} already has a turnover waiting for review.") from None
        engineers = list(train.release_engineers.all()) or list(
            get_user_model().objects.filter(groups__name=roles.RELEASE_ENGINEERS)
        )
        _record(
            train,
            EventKind.TURNOVER,
            by,
            f"Turnover of {release} submitted",
            data={"turnover": turnover.pk},
            notify=engineers,
        )
    return turnover


def turnover_decide(*, turnover: Turnover, by: User, accept: bool, reason: str = "") -> Turnover:
    release = turnover.release
    with transaction.atomic():
        train = _lock(release.train) if release.train_id else None
        if train is None or train.state not in TURNOVER_STATES:
            raise InvalidState("This turnover's train is not open for turnovers.")
        if not access.can_view(by, train):
            raise NotAllowed("You cannot see this turnover's train.")
        turnover = application_services.turnover_decide(
            turnover=turnover, by=by, accept=accept, reason=reason
        )
        verdict = "accepted" if accept else f"rejected: {turnover.rejection_reason}"
        _record(
            train,
            EventKind.TURNOVER,
            by,
            f"Turnover of {release} {verdict}",
            data={"turnover": turnover.pk, "accept": accept},
            notify=[release.application.product_owner, turnover.submitted_by],
        )
    return turnover
