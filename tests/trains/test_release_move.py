"""Moving an application release that missed its train to another train."""

import pytest
from django.core.exceptions import ValidationError

from applications.models import Turnover
from releasemgr.exceptions import InvalidState, NotAllowed
from tests.factories import ReleaseFactory, drive, fresh, make_train, scope
from trains import services
from trains.choices import CriterionCheck, EventKind
from trains.facts import facts_of
from trains.workflow import criterion_status

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _executives(executive):
    """scope() asks the executives group for approval: it needs a member."""


def _trains(manager, owner, *, releases=2):
    source = make_train(manager, name="March train")
    _dev, _exe, rels = scope(source, manager=manager, owner=owner, releases=releases)
    target = make_train(manager, name="April train")
    return fresh(source), fresh(target), rels


def test_move_keeps_state_and_turnovers_and_both_histories_say_so(people):
    manager, owner, qa, executive, engineer = people.values()
    source = make_train(manager, name="March train")
    source, _dev, _exe, rels = drive(
        source,
        "construction",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
        releases=3,
    )
    release = fresh(rels[0])
    release = services.release_transition(release=release, name="start_development", by=owner)
    services.release_transition(release=release, name="complete_development", by=owner)
    turnover = services.turnover_submit(release=fresh(release), by=owner, description="build 7")
    target = make_train(manager, name="April train")

    services.release_move(release=fresh(release), to_train=target, by=manager, reason="QA late")

    moved = fresh(release)
    assert moved.train_id == target.pk
    assert moved.state == "development_complete"
    assert Turnover.objects.get(pk=turnover.pk).release_id == moved.pk
    out = source.events.filter(kind=EventKind.RELEASE).first()
    into = target.events.filter(kind=EventKind.RELEASE).first()
    assert out.message == f"Moved {moved} to April train: QA late"
    assert out.actor == manager and out.data["moved_to"] == target.pk
    assert into.message == f"{moved} moved here from March train: QA late"
    assert into.data["moved_from"] == source.pk


def test_target_criteria_and_progress_change_at_once(manager, owner):
    source, target, rels = _trains(manager, owner)
    before = facts_of(fresh(target))
    assert before.release_count == 0
    services.release_move(release=rels[0], to_train=target, by=manager, reason="Next train")
    after = facts_of(fresh(target))
    assert after.release_count == 1
    has_releases = next(c for c in after.criteria if c.rule == CriterionCheck.HAS_RELEASES)
    assert criterion_status(has_releases, after)[0]
    assert facts_of(fresh(source)).release_count == 1


def test_moving_the_last_release_needs_confirming(manager, owner):
    source, target, rels = _trains(manager, owner, releases=1)
    with pytest.raises(services.LeavesTrainEmpty, match="last application release"):
        services.release_move(release=rels[0], to_train=target, by=manager, reason="Late")
    assert fresh(rels[0]).train_id == source.pk
    services.release_move(
        release=rels[0], to_train=target, by=manager, reason="Late", leave_empty=True
    )
    assert fresh(rels[0]).train_id == target.pk


def test_a_reason_is_needed(manager, owner):
    _source, target, rels = _trains(manager, owner)
    with pytest.raises(ValidationError):
        services.release_move(release=rels[0], to_train=target, by=manager, reason="  ")


def test_only_to_a_train_the_mover_manages(manager, other_manager, owner):
    _source, _target, rels = _trains(manager, owner)
    theirs = make_train(other_manager, name="Their train")
    with pytest.raises(NotAllowed, match="do not manage Their train"):
        services.release_move(release=rels[0], to_train=theirs, by=manager, reason="x")
    with pytest.raises(NotAllowed):
        services.release_move(release=rels[0], to_train=theirs, by=other_manager, reason="x")


def test_not_from_or_to_a_train_past_construction(people):
    manager, owner, qa, executive, engineer = people.values()
    kw = dict(manager=manager, owner=owner, qa=qa, executive=executive, engineer=engineer)
    verifying, *_rest, rels = drive(make_train(manager), "verification", **kw)
    target = make_train(manager)
    with pytest.raises(InvalidState, match="verification"):
        services.release_move(release=rels[0], to_train=target, by=manager, reason="x")
    source, _t, mine = _trains(manager, owner)
    with pytest.raises(InvalidState, match="joins a train only in scoping or construction"):
        services.release_move(release=mine[0], to_train=verifying, by=manager, reason="x")
    with pytest.raises(InvalidState, match="already on this train"):
        services.release_move(release=mine[0], to_train=source, by=manager, reason="x")


def test_a_closed_trains_release_moves_or_is_freed(people):
    """Cancelling frees a train's releases itself; a closed train's stay until moved."""
    manager, owner, qa, executive, engineer = people.values()
    closed, *_rest, rels = drive(
        make_train(manager),
        "closed",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
        releases=2,
    )
    target = make_train(manager)
    services.release_move(release=rels[0], to_train=target, by=manager, reason="Redo")
    services.release_remove(train=closed, release=rels[1], by=manager, reason="Freed")
    assert fresh(rels[0]).train_id == target.pk
    assert fresh(rels[1]).train_id is None
    assert fresh(closed).state == "closed"


def test_the_source_moves_on_when_the_rest_are_complete(people):
    """Moving away the only unfinished release completes construction's condition."""
    manager, owner, qa, executive, engineer = people.values()
    source, _dev, _exe, rels = drive(
        make_train(manager),
        "construction",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
        releases=2,
    )
    release = services.release_transition(
        release=fresh(rels[0]), name="start_development", by=owner
    )
    services.release_transition(release=release, name="complete_development", by=owner)
    target = make_train(manager)
    services.release_move(release=fresh(rels[1]), to_train=target, by=manager, reason="Late")
    assert fresh(source).state == "development_approval"


# The page -------------------------------------------------------------------------------


def test_page_moves_and_says_before_leaving_a_train_empty(client, manager, owner):
    source, target, rels = _trains(manager, owner, releases=1)
    client.force_login(manager)
    url = f"/trains/{source.pk}/releases/{rels[0].pk}/move/"
    page = client.get(url)
    assert page.status_code == 200
    assert b"This is the last application release on March train" in page.content
    assert b"April train" in page.content
    refused = client.post(url, {"to_train": target.pk, "reason": "Late"})
    assert refused.status_code == 400
    assert b"Confirm to move it anyway" in refused.content
    assert fresh(rels[0]).train_id == source.pk
    done = client.post(url, {"to_train": target.pk, "reason": "Late", "leave_empty": "on"})
    assert done.status_code == 302
    assert fresh(rels[0]).train_id == target.pk


def test_page_bad_input_keeps_everything(client, manager, owner, other_manager):
    source, _target, rels = _trains(manager, owner)
    theirs = make_train(other_manager, name="Their train")
    client.force_login(manager)
    url = f"/trains/{source.pk}/releases/{rels[0].pk}/move/"
    assert client.post(url, {"to_train": theirs.pk, "reason": "x"}).status_code == 400
    assert client.post(url, {"to_train": "", "reason": "x"}).status_code == 400
    assert client.post(url, {"to_train": "99999999999999", "reason": "x"}).status_code == 400
    assert fresh(rels[0]).train_id == source.pk


def test_page_is_for_the_trains_managers(client, manager, owner, stakeholder, outsider):
    source, _target, rels = _trains(manager, owner)
    url = f"/trains/{source.pk}/releases/{rels[0].pk}/move/"
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(owner)  # sees the train (owns a release) but does not manage it
    assert client.get(url).status_code == 403
    client.force_login(manager)
    other = ReleaseFactory()
    assert client.get(f"/trains/{source.pk}/releases/{other.pk}/move/").status_code == 404


def test_dashboard_offers_move_only_to_its_managers(client, manager, owner):
    source, _target, rels = _trains(manager, owner)
    client.force_login(manager)
    assert f"/releases/{rels[0].pk}/move/".encode() in client.get(f"/trains/{source.pk}/").content
    client.force_login(owner)
    assert b"/move/" not in client.get(f"/trains/{source.pk}/").content


def test_page_without_targets_says_so(client, manager, owner):
    source = make_train(manager)
    _d, _e, rels = scope(source, manager=manager, owner=owner, releases=1)
    client.force_login(manager)
    page = client.get(f"/trains/{source.pk}/releases/{rels[0].pk}/move/")
    assert b"You manage no other train in scoping or construction" in page.content
