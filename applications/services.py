"""Writes for applications, their releases and turnovers.

Changes that touch a train (moving a release, deciding a turnover) go through
trains.services, which calls these and then moves the train if it should.
"""

from __future__ import annotations

from collections.abc import Collection

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import can_proceed

from applications.models import (
    RELEASE_TRANSITIONS,
    Application,
    ApplicationRelease,
    ReleaseState,
    Turnover,
    TurnoverState,
)
from releasemgr import roles
from releasemgr.exceptions import ConcurrentChange, InvalidState, NotAllowed, ServiceError


def can_own(user: AbstractBaseUser, application: Application) -> bool:
    return user.is_superuser or application.product_owner_id == user.pk


def application_create(
    *, by: AbstractBaseUser, name: str, product_owner: AbstractBaseUser, description: str = ""
) -> Application:
    if not (roles.has_role(by, roles.RELEASE_MANAGERS) or roles.has_role(by, roles.PRODUCT_OWNERS)):
        raise NotAllowed("Only release managers and product owners can register applications.")
    if product_owner != by and not roles.has_role(by, roles.RELEASE_MANAGERS):
        # A product owner registering someone else's application could not even open it.
        raise ValidationError(
            {
                "product_owner": "You can register only applications you own; "
                "a release manager can name another product owner."
            }
        )
    application = Application(
        name=name.strip(), product_owner=product_owner, description=description
    )
    application.full_clean()
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError:  # registered by someone else between the check and the save
        raise ValidationError({"name": "An application with this name already exists."}) from None
    return application


def release_create(
    *, by: AbstractBaseUser, application: Application, version: str, notes: str = ""
) -> ApplicationRelease:
    if not (can_own(by, application) or roles.has_role(by, roles.RELEASE_MANAGERS)):
        raise NotAllowed(
            "Only the application's product owner or a release manager can add a release of it."
        )
    release = ApplicationRelease(application=application, version=version.strip(), notes=notes)
    release.full_clean(exclude=["state"])
    try:
        with transaction.atomic():
            release.save()
    except IntegrityError:  # added by someone else between the check and the save
        raise ValidationError(
            {"version": "This application already has a release with that version."}
        ) from None
    return release


def release_step_refusal(
    *, release: ApplicationRelease, name: str, by: AbstractBaseUser
) -> ServiceError | None:
    """Why `by` may not take development step `name` of this release, as far as the
    release says (None: they may). `release_transition` raises it; pages read it to offer
    only the steps that can succeed. No query."""
    if name not in RELEASE_TRANSITIONS:
        return ServiceError(f"Unknown step {name!r} for an application release.")
    if not can_own(by, release.application):
        return NotAllowed("Only the application's product owner can move its releases.")
    if not can_proceed(getattr(release, name), check_conditions=False):
        return InvalidState(
            f"{release} is {release.get_state_display().lower()}; "
            f"'{RELEASE_TRANSITIONS[name]}' is not possible now."
        )
    return None


def release_transition(
    *, release: ApplicationRelease, name: str, by: AbstractBaseUser
) -> ApplicationRelease:
    """Move a release through development. The caller holds a transaction."""
    refusal = release_step_refusal(release=release, name=name, by=by)
    if refusal is not None:
        raise refusal
    locked = ApplicationRelease.objects.select_for_update().get(pk=release.pk)
    if locked.state != release.state:
        raise ConcurrentChange(
            f"Someone else changed {release} first: it is now {locked.get_state_display()}."
        )
    getattr(locked, name)()
    locked.save()
    return locked


def turnover_submit_refusal(
    *, release: ApplicationRelease, by: AbstractBaseUser, turnover_states: Collection[str]
) -> ServiceError | None:
    """Why `by` may not submit a turnover of this release, as far as the release says
    (None: they may); `turnover_states` are the states of its turnovers so far. No query."""
    if not can_own(by, release.application):
        return NotAllowed("Only the application's product owner can submit its turnover.")
    if release.state != ReleaseState.DEVELOPMENT_COMPLETE:
        return InvalidState(f"{release} is not development-complete; finish development first.")
    if TurnoverState.SUBMITTED in turnover_states:
        return InvalidState(f"{release} already has a turnover waiting for review.")
    if TurnoverState.ACCEPTED in turnover_states:
        return InvalidState(f"{release} already has an accepted turnover.")
    return None


def turnover_submit(
    *, release: ApplicationRelease, by: AbstractBaseUser, description: str
) -> Turnover:
    refusal = turnover_submit_refusal(
        release=release,
        by=by,
        turnover_states=set(release.turnovers.values_list("state", flat=True)),
    )
    if refusal is not None:
        raise refusal
    turnover = Turnover(release=release, submitted_by=by, description=description.strip())
    turnover.full_clean(exclude=["state"])
    with transaction.atomic():
        turnover.save()
    return turnover


def turnover_decide_refusal(*, turnover_state: str, by: AbstractBaseUser) -> ServiceError | None:
    """Why `by` may not accept or reject a turnover in this state (None: they may)."""
    if not roles.has_role(by, roles.RELEASE_ENGINEERS):
        return NotAllowed("Only release engineers can accept or reject turnovers.")
    if turnover_state != TurnoverState.SUBMITTED:
        return ConcurrentChange(
            f"This turnover was already {TurnoverState(turnover_state).label.lower()}."
        )
    return None


def turnover_decide(
    *, turnover: Turnover, by: AbstractBaseUser, accept: bool, reason: str = ""
) -> Turnover:
    """Accept or reject a turnover. The caller holds a transaction."""
    refusal = turnover_decide_refusal(turnover_state=TurnoverState.SUBMITTED, by=by)
    if refusal is not None:
        raise refusal
    reason = reason.strip()
    if not accept and not reason:
        raise ValidationError({"reason": "A rejected turnover needs a reason."})
    locked = Turnover.objects.select_for_update().get(pk=turnover.pk)
    refusal = turnover_decide_refusal(turnover_state=locked.state, by=by)
    if refusal is not None:
        raise refusal
    if accept:
        locked.accept()
    else:
        locked.reject()
        locked.rejection_reason = reason
    locked.decided_by = by
    locked.decided_at = timezone.now()
    locked.save()
    return locked
