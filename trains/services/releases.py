"""Application releases on a train, and their turnovers."""

from __future__ import annotations

from collections.abc import Collection

from django.db import IntegrityError, transaction

from applications import services as application_services
from applications.models import ApplicationRelease, Turnover, TurnoverState
from releasemgr.exceptions import (
    ConcurrentChange,
    InvalidState,
    NotAllowed,
    ServiceError,
)
from trains import access, workflow
from trains.choices import (
    FINAL_STATES,
    STATE_WHERE,
    EventKind,
    TrainState,
)
from trains.models import (
    ReleaseTrain,
)
from trains.notifications import audience
from trains.services.common import User, clean_reason, lock_train, record, run_step

EDITABLE_RELEASE_STATES = (TrainState.SCOPING, TrainState.CONSTRUCTION)
# A release leaves a train in these states, moved to another or freed: while its scope is
# open, or once the train is over (a cancelled train's releases take the next one).
RELEASE_LEAVES_STATES = (*EDITABLE_RELEASE_STATES, *FINAL_STATES)


TURNOVER_STATES = (
    TrainState.CONSTRUCTION,
    TrainState.DEVELOPMENT_APPROVAL,
    TrainState.VERIFICATION,
    TrainState.EXECUTIVE_APPROVAL,
    TrainState.DEPLOYMENT,
)


def release_add(*, train: ReleaseTrain, release: ApplicationRelease, by: User) -> None:
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers add application releases.")
    with transaction.atomic():
        locked = lock_train(train)
        if locked.state not in EDITABLE_RELEASE_STATES:
            raise InvalidState("Application releases can be added only in scoping or construction.")
        release = ApplicationRelease.objects.select_for_update().get(pk=release.pk)
        if release.train_id == locked.pk:
            raise InvalidState(f"{release} is already on this train.")
        if release.train_id is not None:
            raise InvalidState(f"{release} is already on another train ({release.train}).")
        release.train = locked
        release.save(update_fields=["train", "updated_at"])
        record(
            locked,
            EventKind.RELEASE,
            by,
            f"Added {release}",
            data={"release": release.pk, "change": "added"},
            notify=[release.application.product_owner],
        )


def release_remove(
    *, train: ReleaseTrain, release: ApplicationRelease, by: User, reason: str
) -> None:
    if not access.can_manage(by, train):
        raise NotAllowed("Only the train's release managers remove application releases.")
    reason = clean_reason(reason, "remove the release")
    with transaction.atomic():
        locked = lock_train(train)
        if locked.state not in RELEASE_LEAVES_STATES:
            raise InvalidState(
                "Application releases can be removed only in scoping or construction, "
                "or once the train is closed or cancelled."
            )
        release = ApplicationRelease.objects.select_for_update().get(pk=release.pk)
        if release.train_id != locked.pk:
            raise InvalidState(f"{release} is not on this train.")
        release.train = None
        release.save(update_fields=["train", "updated_at"])
        record(
            locked,
            EventKind.RELEASE,
            by,
            f"Removed {release}: {reason}",
            data={"release": release.pk, "change": "removed", "reason": reason},
            notify=[release.application.product_owner],
        )
        _maybe_request_development_approval(locked)


class LeavesTrainEmpty(InvalidState):
    """The move would leave its train with no application release, and that was not
    confirmed (the page asks first; the API answers 409 with this sentence)."""


def release_move_refusal(
    *, source: ReleaseTrain, target: ReleaseTrain | None, by: User
) -> ServiceError | None:
    """Why `by` cannot move a release from `source` to `target` now (None: they can;
    `target` None asks only about the source)."""
    if not access.can_manage(by, source):
        return NotAllowed("Only the train's release managers move its application releases.")
    if source.state not in RELEASE_LEAVES_STATES:
        return InvalidState(
            f"{workflow.where(source.state)}; its releases move only "
            "in scoping or construction, or once it is closed or cancelled."
        )
    if target is None:
        return None
    if target.pk == source.pk:
        return InvalidState("The release is already on this train; choose another train.")
    if not access.can_manage(by, target):
        return NotAllowed(f"You do not manage {target.name}; choose a train you manage.")
    if target.state not in EDITABLE_RELEASE_STATES:
        return InvalidState(
            f"{target.name} is {STATE_WHERE[TrainState(target.state)]}; a release joins a "
            "train only in scoping or construction."
        )
    return None


def release_move(
    *,
    release: ApplicationRelease,
    to_train: ReleaseTrain,
    by: User,
    reason: str,
    leave_empty: bool = False,
) -> ApplicationRelease:
    """Move a release that missed its train to another open train ("take the next one").

    It keeps its state and its turnovers; both trains' histories say so, with the reason.
    Refused without `leave_empty` when it is its train's last release (an open train
    with no release cannot leave scoping nor pass construction).
    """
    reason = clean_reason(reason, "move the release")
    on = ApplicationRelease.objects.filter(pk=release.pk).values_list("train_id", flat=True)
    with transaction.atomic():
        source_id = on.first()
        if source_id is None:
            raise InvalidState(f"{release} is on no train; add it to a train instead.")
        # Both rows locked, in id order: two moves in opposite directions cannot deadlock.
        locked = {
            t.pk: t
            for t in ReleaseTrain.objects.select_for_update()
            .filter(pk__in=[source_id, to_train.pk])
            .order_by("pk")
        }
        release = ApplicationRelease.objects.select_for_update().get(pk=release.pk)
        if release.train_id != source_id:
            raise ConcurrentChange(f"Someone moved {release} first; look again.")
        source, target = locked[source_id], locked.get(to_train.pk)
        if target is None:
            raise InvalidState("No such train.")
        refusal = release_move_refusal(source=source, target=target, by=by)
        if refusal is not None:
            raise refusal
        others = source.application_releases.exclude(pk=release.pk).exists()
        if not others and source.is_open and not leave_empty:
            raise LeavesTrainEmpty(
                f"{release} is the last application release on {source.name}; moving it "
                "leaves the train with none. Confirm to move it anyway."
            )
        release.train = target
        release.save(update_fields=["train", "updated_at"])
        owner = release.application.product_owner
        record(
            source,
            EventKind.RELEASE,
            by,
            f"Moved {release} to {target.name}: {reason}",
            data={"release": release.pk, "moved_to": target.pk},
            notify=[owner],
        )
        record(
            target,
            EventKind.RELEASE,
            by,
            f"{release} moved here from {source.name}: {reason}",
            data={"release": release.pk, "moved_from": source.pk},
            notify=[owner],
        )
        if source.is_open:
            _maybe_request_development_approval(source)
        _maybe_request_development_approval(target)
    return release


# What an owner or an engineer may do to a release now: the services raise these
# refusals, and the pages (the train's releases, the application page, the navigation's
# count) offer only what none refuses. `train_state` is the state of the release's train,
# None when it is on no train. Who may comes first: a stranger learns nothing of the train.


def release_step_refusal(
    *, release: ApplicationRelease, name: str, by: User, train_state: str | None
) -> ServiceError | None:
    """Why `by` cannot take development step `name` of this release now (None: they can)."""
    refusal = application_services.release_step_refusal(release=release, name=name, by=by)
    who_may = refusal is not None and not isinstance(refusal, InvalidState)
    if not who_may and train_state is not None and train_state not in EDITABLE_RELEASE_STATES:
        return InvalidState(
            f"{release} is on a train in {TrainState(train_state).label.lower()}; its "
            "development can change only in scoping or construction."
        )
    return refusal


def turnover_submit_refusal(
    *,
    release: ApplicationRelease,
    by: User,
    train_state: str | None,
    turnover_states: Collection[str],
) -> ServiceError | None:
    """Why `by` cannot submit a turnover of this release now (None: they can)."""
    refusal = application_services.turnover_submit_refusal(
        release=release, by=by, turnover_states=turnover_states
    )
    if refusal is None or isinstance(refusal, InvalidState):
        if train_state in FINAL_STATES:
            return InvalidState(
                f"The release's train is {TrainState(train_state).label.lower()}; "
                "it takes no more turnovers."
            )
        if train_state not in TURNOVER_STATES:
            return InvalidState("A turnover is submitted once the release's train is past scoping.")
    return refusal


def turnover_decide_refusal(
    *, turnover_state: str, by: User, train_state: str | None
) -> ServiceError | None:
    """Why `by` cannot accept or reject a turnover in this state now (None: they can);
    that they see its train is for the caller to know."""
    refusal = application_services.turnover_decide_refusal(turnover_state=turnover_state, by=by)
    if isinstance(refusal, NotAllowed):
        return refusal
    if train_state not in TURNOVER_STATES:
        return InvalidState("This turnover's train is not open for turnovers.")
    return refusal


def release_transition(*, release: ApplicationRelease, name: str, by: User) -> ApplicationRelease:
    """Move a release through development; the last one completed moves the train on."""
    refusal = application_services.release_step_refusal(release=release, name=name, by=by)
    if isinstance(refusal, NotAllowed):
        raise refusal  # before the train is read, or locked
    with transaction.atomic():
        train = lock_train(release.train) if release.train_id else None
        refusal = release_step_refusal(
            release=release, name=name, by=by, train_state=train.state if train else None
        )
        if refusal is not None:
            raise refusal
        release = application_services.release_transition(release=release, name=name, by=by)
        if train is not None:
            record(
                train,
                EventKind.RELEASE,
                by,
                f"{release}: {release.get_state_display().lower()}",
                data={"release": release.pk, "transition": name, "to": release.state},
            )
            _maybe_request_development_approval(train)
    return release


def _maybe_request_development_approval(train: ReleaseTrain) -> None:
    if train.state == TrainState.CONSTRUCTION and not workflow.unmet(
        train, "request_development_approval"
    ):
        run_step(
            train,
            "request_development_approval",
            None,
            "All application releases are development-complete",
        )


def turnover_submit(*, release: ApplicationRelease, by: User, description: str) -> Turnover:
    with transaction.atomic():
        train = lock_train(release.train) if release.train_id else None
        refusal = turnover_submit_refusal(
            release=release,
            by=by,
            train_state=train.state if train else None,
            turnover_states=(),  # its turnovers are read by the service below
        )
        if refusal is not None:
            raise refusal
        try:
            turnover = application_services.turnover_submit(
                release=release, by=by, description=description
            )
        except IntegrityError:
            raise InvalidState(f"{release} already has a turnover waiting for review.") from None
        record(
            train,
            EventKind.TURNOVER,
            by,
            f"Turnover of {release} submitted",
            data={"turnover": turnover.pk},
            notify=audience.of_turnover_submitted(train),
        )
    return turnover


def turnover_decide(*, turnover: Turnover, by: User, accept: bool, reason: str = "") -> Turnover:
    release = turnover.release
    with transaction.atomic():
        train = lock_train(release.train) if release.train_id else None
        # Whether it is still waiting is the service's to say, with the turnover locked.
        refusal = turnover_decide_refusal(
            turnover_state=TurnoverState.SUBMITTED,
            by=by,
            train_state=train.state if train else None,
        )
        if refusal is not None:
            raise refusal
        if not access.can_view(by, train):
            raise NotAllowed("You cannot see this turnover's train.")
        turnover = application_services.turnover_decide(
            turnover=turnover, by=by, accept=accept, reason=reason
        )
        verdict = "accepted" if accept else f"rejected: {turnover.rejection_reason}"
        record(
            train,
            EventKind.TURNOVER,
            by,
            f"Turnover of {release} {verdict}",
            data={"turnover": turnover.pk, "accept": accept},
            notify=[release.application.product_owner, turnover.submitted_by],
        )
    return turnover
