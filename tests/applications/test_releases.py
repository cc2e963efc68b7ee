"""Application releases on trains, their development steps, and turnovers."""

import pytest
from django.core.exceptions import ValidationError

from releasemgr.exceptions import InvalidState, NotAllowed
from tests.factories import ReleaseFactory, drive, fresh, make_train, scope
from trains import services

pytestmark = pytest.mark.django_db


def test_release_added_in_scoping_is_recorded_and_owner_told(manager, owner):
    train = make_train(manager)
    release = ReleaseFactory(application__product_owner=owner)
    services.release_add(train=train, release=release, by=manager)
    assert fresh(release).train == train
    event = train.events.get(kind="release")
    assert event.message == f"Added {release}"
    assert event.notifications.filter(recipient=owner).exists()


def test_release_cannot_ride_two_trains(manager, owner):
    first, second = make_train(manager), make_train(manager)
    release = ReleaseFactory(application__product_owner=owner)
    services.release_add(train=first, release=release, by=manager)
    with pytest.raises(InvalidState, match="already on another train"):
        services.release_add(train=second, release=release, by=manager)


def test_removal_needs_a_reason_and_keeps_it(manager, owner):
    train = make_train(manager)
    release = ReleaseFactory(application__product_owner=owner)
    services.release_add(train=train, release=release, by=manager)
    with pytest.raises(ValidationError, match="reason"):
        services.release_remove(train=train, release=release, by=manager, reason="")
    assert fresh(release).train == train
    services.release_remove(train=train, release=release, by=manager, reason="Slipped to Q2")
    assert fresh(release).train is None
    assert train.events.filter(message=f"Removed {release}: Slipped to Q2").exists()


def test_releases_change_only_in_scoping_or_construction(people):
    train, *_ = drive(make_train(people["manager"]), "verification", **people)
    release = ReleaseFactory(application__product_owner=people["owner"])
    with pytest.raises(InvalidState, match="only in scoping or construction"):
        services.release_add(train=train, release=release, by=people["manager"])


def test_removing_the_last_unfinished_release_requests_approval(people):
    train = make_train(people["manager"])
    _, _, (done, late) = scope(train, manager=people["manager"], owner=people["owner"])
    services.train_transition(train=train, name="start_construction", by=people["manager"])
    from tests.factories import complete_all

    complete_all([done], people["owner"])
    services.release_remove(
        train=fresh(train), release=late, by=people["manager"], reason="Not ready"
    )
    assert fresh(train).state == "development_approval"


def test_only_the_product_owner_moves_a_release(people, outsider):
    train = make_train(people["manager"])
    _, _, (release, _) = scope(train, manager=people["manager"], owner=people["owner"])
    with pytest.raises(NotAllowed, match="product owner"):
        services.release_transition(release=release, name="start_development", by=people["manager"])


def test_release_steps_follow_their_state_machine(people):
    train = make_train(people["manager"])
    _, _, (release, _) = scope(train, manager=people["manager"], owner=people["owner"])
    with pytest.raises(InvalidState, match="is planned"):
        services.release_transition(
            release=release, name="complete_development", by=people["owner"]
        )
    release = services.release_transition(
        release=release, name="start_development", by=people["owner"]
    )
    release = services.release_transition(
        release=release, name="complete_development", by=people["owner"]
    )
    release = services.release_transition(
        release=release, name="reopen_development", by=people["owner"]
    )
    assert fresh(release).state == "in_development"


def test_reopening_after_a_rejection_blocks_the_next_request(people):
    train, dev, _, (release, _) = drive(
        make_train(people["manager"]), "development_approval", **people
    )
    services.decision_record(
        requirement=dev, by=people["manager"], approve=False, comment="Needs rework"
    )
    services.release_transition(
        release=fresh(release), name="reopen_development", by=people["owner"]
    )
    from releasemgr.exceptions import ConditionsUnmet

    with pytest.raises(ConditionsUnmet, match="1 of 2"):
        services.train_transition(
            train=fresh(train), name="request_development_approval", by=people["manager"]
        )


def test_turnover_accept_and_reject(people):
    train, _, exe, (first, second) = drive(
        make_train(people["manager"]), "executive_approval", **people
    )
    turnover = services.turnover_submit(
        release=fresh(first), by=people["owner"], description="build 42"
    )
    with pytest.raises(InvalidState, match="already has a turnover waiting"):
        services.turnover_submit(release=fresh(first), by=people["owner"], description="again")
    with pytest.raises(NotAllowed, match="release engineers"):
        services.turnover_decide(turnover=turnover, by=people["owner"], accept=True)
    with pytest.raises(ValidationError, match="needs a reason"):
        services.turnover_decide(turnover=turnover, by=people["engineer"], accept=False)
    services.turnover_decide(
        turnover=turnover, by=people["engineer"], accept=False, reason="Runbook missing"
    )
    turnover.refresh_from_db()
    assert (turnover.state, turnover.rejection_reason) == ("rejected", "Runbook missing")
    again = services.turnover_submit(
        release=fresh(first), by=people["owner"], description="build 43 + runbook"
    )
    services.turnover_decide(turnover=again, by=people["engineer"], accept=True)
    with pytest.raises(InvalidState, match="already has an accepted"):
        services.turnover_submit(release=fresh(first), by=people["owner"], description="x")
    assert train.events.filter(kind="turnover").count() == 4


def test_turnover_needs_development_complete_and_an_open_train(people):
    train = make_train(people["manager"])
    _, _, (release, _) = scope(train, manager=people["manager"], owner=people["owner"])
    with pytest.raises(InvalidState, match="past scoping"):
        services.turnover_submit(release=fresh(release), by=people["owner"], description="x")
    services.train_transition(train=train, name="start_construction", by=people["manager"])
    with pytest.raises(InvalidState, match="not development-complete"):
        services.turnover_submit(release=fresh(release), by=people["owner"], description="x")
