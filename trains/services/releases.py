"""Application releases on a train, and their turnovers."""

from __future__ import annotations

from collections.abc import Collection

from django.db import IntegrityError, transaction

from applications import services as application_services
from applications.models import ApplicationRelease, Turnover, TurnoverState
from releasemgr.exceptions import (
    InvalidState,
    NotAllowed,
    ServiceError,
)
from trains import access, workflow
from trains.choices import (
    FINAL_STATES,
    EventKind,
    TrainState,
)
from trains.models import (
    ReleaseTrain,
)
from trains.notifications import audience
from trains.services.common import User, clean_reason, lock_train, record, run_step

EDITABLE_RELEASE_STATES = (TrainState.SCOPING, TrainState.CONSTRUCTION)


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
        if locked.state not in EDITABLE_RELEASE_STATES:
            raise InvalidState(
                "Application releases can be removed only in scoping or construction."
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
