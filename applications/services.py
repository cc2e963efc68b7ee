"""Writes for applications, their releases and turnovers.

Changes that touch a train (moving a release, deciding a turnover) go through
trains.services, which calls these and then moves the train if it should.
"""

from __future__ import annotations

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


def release_transition(
    *, release: ApplicationRelease, name: str, by: AbstractBaseUser
) -> ApplicationRelease:
    """Move a release through development. The caller holds a transaction."""
    if name not in RELEASE_TRANSITIONS:
        raise ServiceError(f"Unknown step {name!r} for an application release.")
    if not can_own(by, release.application):
        raise NotAllowed("Only the application's product owner can move its releases.")
    locked = ApplicationRelease.objects.select_for_update().get(pk=release.pk)
    if locked.state != release.state:
        raise ConcurrentChange(
            f"Someone else changed {release} first: it is now {locked.get_state_display()}."
        )
    method = getattr(locked, name)
    if not can_proceed(method, check_conditions=False):
        raise InvalidState(
            f"{release} is {locked.get_state_display().lower()}; "
            f"'{RELEASE_TRANSITIONS[name]}' is not possible now."
        )
    method()
    locked.save()
    return locked


def turnover_submit(
    *, release: ApplicationRelease, by: AbstractBaseUser, description: str
) -> Turnover:
    if not can_own(by, release.application):
        raise NotAllowed("Only the application's product owner can submit its turnover.")
    if release.state != ReleaseState.DEVELOPMENT_COMPLETE:
        raise InvalidState(f"{release} is not development-complete; finish development first.")
    if release.turnovers.filter(state=TurnoverState.SUBMITTED).exists():
        raise InvalidState(f"{release} already has a turnover waiting for review.")
    if release.turnovers.filter(state=TurnoverState.ACCEPTED).exists():
        raise InvalidState(f"{release} already has an accepted turnover.")
    turnover = Turnover(release=release, submitted_by=by, description=description.strip())
    turnover.full_clean(exclude=["state"])
    with transaction.atomic():
        turnover.save()
    return turnover


def turnover_decide(
    *, turnover: Turnover, by: AbstractBaseUser, accept: bool, reason: str = ""
) -> Turnover:
    """Accept or reject a turnover. The caller holds a transaction."""
    if not roles.has_role(by, roles.RELEASE_ENGINEERS):
        raise NotAllowed("Only release engineers can accept or reject turnovers.")
    reason = reason.strip()
    if not accept and not reason:
        raise ValidationError({"reason": "A rejected turnover needs a reason."})
    locked = Turnover.objects.select_for_update().get(pk=turnover.pk)
    if locked.state != TurnoverState.SUBMITTED:
        raise ConcurrentChange(f"This turnover was already {locked.get_state_display().lower()}.")
    if accept:
        locked.accept()
    else:
        locked.reject()
        locked.rejection_reason = reason
    locked.decided_by = by
    locked.decided_at = timezone.now()
    locked.save()
    return locked
