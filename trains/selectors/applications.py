"""Reads for the applications pages, and what an owner or an engineer may do to a release
now (the refusals of `trains.services`, read for the pages and the navigation)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, F, OuterRef, Prefetch, QuerySet

from applications.models import (
    RELEASE_TRANSITIONS,
    Application,
    ApplicationRelease,
    Turnover,
    TurnoverState,
)
from releasemgr import roles
from trains import services
from trains.access import trains_visible_to
from trains.choices import OPEN_STATES, TrainState

# Who works with applications at all; release managers and engineers see every one,
# product owners their own.
APP_ROLES = (roles.RELEASE_MANAGERS, roles.PRODUCT_OWNERS, roles.RELEASE_ENGINEERS)
SEE_EVERY_APPLICATION = (roles.RELEASE_MANAGERS, roles.RELEASE_ENGINEERS)


def uses_applications(user: AbstractBaseUser) -> bool:
    return any(roles.has_role(user, role) for role in APP_ROLES)


def may_open_application(user: AbstractBaseUser, product_owner_id: int) -> bool:
    """Whether the application's page opens for this user (no query)."""
    return uses_applications(user) and (
        any(roles.has_role(user, role) for role in SEE_EVERY_APPLICATION)
        or product_owner_id == user.pk
    )


def applications_for(*, user: AbstractBaseUser) -> QuerySet[Application]:
    """Release managers and engineers see every application; product owners their own."""
    apps = Application.objects.select_related("product_owner").order_by("name")
    if any(roles.has_role(user, role) for role in SEE_EVERY_APPLICATION):
        return apps
    return apps.filter(product_owner=user)


# What may be done to a release now ---------------------------------------------------------

# How each development step is shown: its button's style, and the word before the
# release's name in its accessible name ("Start development of Billing 2.0").
RELEASE_STEP_SHOWN = {
    "start_development": ("btn-outline-primary", "of"),
    "complete_development": ("btn-success", "for"),
    "reopen_development": ("btn-outline-secondary", "of"),
}
FORWARD_STEPS = ("start_development", "complete_development")  # reopening goes back


@dataclass(frozen=True)
class ReleaseStep:
    name: str
    label: str
    style: str
    preposition: str

    @property
    def forward(self) -> bool:
        return self.name in FORWARD_STEPS


@dataclass(frozen=True)
class ReleaseActions:
    """What this person may do to one release now: only what would succeed."""

    steps: tuple[ReleaseStep, ...] = ()
    submit_turnover: bool = False

    def __bool__(self) -> bool:
        return bool(self.steps or self.submit_turnover)

    @property
    def forward(self) -> tuple[ReleaseStep, ...]:
        return tuple(s for s in self.steps if s.forward)


def release_actions(
    release: ApplicationRelease,
    user: AbstractBaseUser,
    *,
    train_state: str | None,
    turnover_states: Collection[str],
) -> ReleaseActions:
    """The development steps and the turnover this user may take on the release now, as
    `trains.services` would allow them (no query)."""
    steps = tuple(
        ReleaseStep(name, label, *RELEASE_STEP_SHOWN[name])
        for name, label in RELEASE_TRANSITIONS.items()
        if services.release_step_refusal(
            release=release, name=name, by=user, train_state=train_state
        )
        is None
    )
    return ReleaseActions(
        steps=steps,
        submit_turnover=services.turnover_submit_refusal(
            release=release, by=user, train_state=train_state, turnover_states=turnover_states
        )
        is None,
    )


@dataclass(frozen=True)
class OwnerMove:
    """A product owner's next move on a release."""

    step: ReleaseStep | None  # a development step forward; None: submit its turnover


# Once the development gate is passed, the releases are built: their owners are asked to
# hand them over. A turnover may be submitted earlier, but is not pressed on them while
# the gate may still send the releases back.
HAND_OVER_STATES = (TrainState.VERIFICATION, TrainState.EXECUTIVE_APPROVAL, TrainState.DEPLOYMENT)


def next_move(actions: ReleaseActions, *, train_state: str | None) -> OwnerMove | None:
    """What the release waits for its owner to do: a development step forward; else,
    past the development gate, the turnover to submit."""
    if actions.forward:
        return OwnerMove(actions.forward[0])
    if actions.submit_turnover and train_state in HAND_OVER_STATES:
        return OwnerMove(None)
    return None


def may_decide_turnover(user: AbstractBaseUser, *, turnover_state: str, train_state: str) -> bool:
    """Whether this user may accept or reject a turnover of a train they see (no query)."""
    return (
        services.turnover_decide_refusal(
            turnover_state=turnover_state, by=user, train_state=train_state
        )
        is None
    )


def application_releases(*, application: Application, user: AbstractBaseUser) -> list:
    """An application's releases, newest first, each with its train only where the user
    may see it, its latest turnover and the earlier ones, and what the user may do to it."""
    visible = set(trains_visible_to(user).values_list("pk", flat=True))
    releases = list(
        application.releases.select_related("train")
        .prefetch_related(
            Prefetch("turnovers", queryset=Turnover.objects.select_related("decided_by"))
        )
        .order_by("-created_at", "-id")
    )
    for release in releases:
        release.application = application  # already read: its name and product owner
        release.visible_train = release.train if release.train_id in visible else None
        turnovers = list(release.turnovers.all())  # newest first (Turnover.Meta.ordering)
        release.latest_turnover = turnovers[0] if turnovers else None
        release.earlier_turnovers = turnovers[1:]
        release.actions = release_actions(
            release,
            user,
            train_state=release.train.state if release.train_id else None,
            turnover_states={t.state for t in turnovers},
        )
    return releases


def turnovers_waiting(*, user: AbstractBaseUser) -> QuerySet[Turnover]:
    return (
        Turnover.objects.filter(
            state=TurnoverState.SUBMITTED, release__train__in=trains_visible_to(user)
        )
        .select_related("release__application", "release__train", "submitted_by")
        .order_by("submitted_at", "id")
    )


def releases_to_finish(*, user: AbstractBaseUser) -> int:
    """How many of this product owner's releases on open trains wait for them to move
    them on: a development step forward, or a turnover to submit (one query)."""
    if not roles.has_role(user, roles.PRODUCT_OWNERS):
        return 0

    def turnover(state: str) -> Exists:
        return Exists(Turnover.objects.filter(release=OuterRef("pk"), state=state))

    releases = (
        ApplicationRelease.objects.filter(
            application__product_owner=user, train__state__in=OPEN_STATES
        )
        .select_related("application")
        .annotate(
            train_state=F("train__state"),
            submitted=turnover(TurnoverState.SUBMITTED),
            accepted=turnover(TurnoverState.ACCEPTED),
        )
    )
    count = 0
    for release in releases:
        actions = release_actions(
            release,
            user,
            train_state=release.train_state,
            turnover_states={
                state
                for state, present in (
                    (TurnoverState.SUBMITTED, release.submitted),
                    (TurnoverState.ACCEPTED, release.accepted),
                )
                if present
            },
        )
        count += next_move(actions, train_state=release.train_state) is not None
    return count
