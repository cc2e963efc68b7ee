"""What the train's page does and the API now does too, through the same services and
access rules: milestones, sharing, putting a release on and off a train, removing an exit
criterion or an approval requirement. Each writes the train's history."""

import pytest

from tests.factories import ReleaseFactory, drive, fresh, make_train, scope
from trains import access, services
from trains.choices import EventKind, TrainState

pytestmark = pytest.mark.django_db


def last_event(train, kind):
    return train.events.filter(kind=kind).order_by("-id").first()


# Milestones -----------------------------------------------------------------------------


def test_manager_adds_lists_and_reaches_milestones(api_as, manager):
    train = make_train(manager)
    api = api_as(manager)
    path = f"/api/v1/trains/{train.pk}/milestones/"
    added = api.post(path, {"name": "Code freeze", "due_date": str(train.start_date)})
    assert added.status_code == 201, added.json()
    milestone = added.json()
    assert milestone["name"] == "Code freeze" and milestone["reached_at"] is None
    assert "Added milestone Code freeze" in last_event(train, EventKind.MILESTONE).message
    assert [m["id"] for m in api.get(path).json()] == [milestone["id"]]

    reached = api.post(f"/api/v1/milestones/{milestone['id']}/reach/")
    assert reached.status_code == 200
    assert reached.json()["reached_by"]["username"] == "manager"
    assert last_event(train, EventKind.MILESTONE).message == "Reached milestone Code freeze"


def test_milestone_bad_input_is_400_with_the_field(api_as, manager):
    train = make_train(manager)
    api = api_as(manager)
    path = f"/api/v1/trains/{train.pk}/milestones/"
    assert set(api.post(path, {}).json()) == {"name", "due_date"}
    outside = api.post(path, {"name": "Late", "due_date": "2999-01-01"})
    assert outside.status_code == 400 and "inside the train's dates" in str(outside.json())
    assert not train.milestones.exists()


def test_milestones_follow_the_page_access_rule(api_as, manager, other_manager, stakeholder):
    train = make_train(manager)
    services.train_grant(train=train, by=manager, user=stakeholder)
    milestone = services.milestone_add(
        train=train, by=manager, name="Freeze", due_date=train.start_date
    )
    seer, stranger = api_as(stakeholder), api_as(other_manager)
    path = f"/api/v1/trains/{train.pk}/milestones/"
    assert seer.get(path).status_code == 200
    data = {"name": "X", "due_date": str(train.start_date)}
    assert seer.post(path, data).status_code == 403
    assert seer.post(f"/api/v1/milestones/{milestone.pk}/reach/").status_code == 403
    assert stranger.get(path).status_code == 404
    assert stranger.post(f"/api/v1/milestones/{milestone.pk}/reach/").status_code == 404
    assert train.milestones.count() == 1


def test_no_milestone_on_a_closed_train(api_as, manager):
    train = make_train(manager)
    services.train_transition(train=train, name="cancel", by=manager, reason="x")
    answer = api_as(manager).post(
        f"/api/v1/trains/{train.pk}/milestones/",
        {"name": "Late", "due_date": str(train.start_date)},
    )
    assert answer.status_code == 409


# Sharing ---------------------------------------------------------------------------------


def test_manager_shares_a_train_and_stops_sharing_it(api_as, manager, stakeholder, other_manager):
    train = make_train(manager)
    api = api_as(manager)
    path = f"/api/v1/trains/{train.pk}/access/"
    granted = api.post(path, {"username": "STAKEHOLDER "})  # as the page: any case, trimmed
    assert granted.status_code == 201
    assert granted.json() == {
        "user": {
            "id": stakeholder.pk,
            "username": "stakeholder",
            "name": granted.json()["user"]["name"],
        },
        "level": "view",
    }
    api.post(path, {"username": "other_manager", "level": "manage"})
    assert {(g["user"]["username"], g["level"]) for g in api.get(path).json()} == {
        ("manager", "manage"),  # its primary manager, from the start
        ("stakeholder", "view"),
        ("other_manager", "manage"),
    }
    assert access.can_view(stakeholder, train) and access.can_manage(other_manager, train)
    assert last_event(train, EventKind.ACCESS).message == "Granted manage to other_manager"

    assert api.delete(f"{path}{stakeholder.pk}/").status_code == 204
    assert not access.can_view(fresh(stakeholder), fresh(train))
    assert last_event(train, EventKind.ACCESS).message == "Revoked access of stakeholder"


def test_sharing_refusals(api_as, manager, stakeholder, qa, outsider):
    train = make_train(manager)
    api = api_as(manager)
    path = f"/api/v1/trains/{train.pk}/access/"
    unknown = api.post(path, {"username": "nobody"})
    assert unknown.status_code == 400 and "username" in unknown.json()
    assert api.post(path, {"username": "qa", "level": "admin"}).status_code == 400
    not_a_manager = api.post(path, {"username": "qa", "level": "manage"})
    assert not_a_manager.status_code == 400
    assert "Only release managers" in str(not_a_manager.json())
    primary = api.delete(f"{path}{manager.pk}/")
    assert primary.status_code == 400 and "always sees the train" in str(primary.json())
    assert api.delete(f"{path}999999/").status_code == 404
    assert "qa" not in {g["user"]["username"] for g in api.get(path).json()}

    services.train_grant(train=train, by=manager, user=stakeholder)
    assert api_as(stakeholder).get(path).status_code == 403  # sees the train, not who else
    assert api_as(stakeholder).post(path, {"username": "qa"}).status_code == 403
    assert api_as(outsider).get(path).status_code == 404
    assert api_as(outsider).delete(f"{path}{stakeholder.pk}/").status_code == 404


# Releases on and off a train --------------------------------------------------------------


def test_manager_puts_a_release_on_and_takes_it_off_with_a_reason(api_as, manager, owner):
    train = make_train(manager)
    release = ReleaseFactory(application__product_owner=owner)
    api = api_as(manager)
    added = api.post(f"/api/v1/trains/{train.pk}/releases/", {"release": release.pk})
    assert added.status_code == 201 and added.json()["train"] == train.pk
    assert [r["id"] for r in api.get(f"/api/v1/trains/{train.pk}/releases/").json()] == [release.pk]
    again = api.post(f"/api/v1/trains/{train.pk}/releases/", {"release": release.pk})
    assert again.status_code == 409

    remove = f"/api/v1/trains/{train.pk}/releases/{release.pk}/remove/"
    assert api.post(remove, {}).status_code == 400  # a reason is needed
    assert api.post(remove, {"reason": "  "}).status_code == 400
    release.refresh_from_db()
    assert release.train_id == train.pk
    removed = api.post(remove, {"reason": "Missed the train"})
    assert removed.status_code == 200 and removed.json()["train"] is None
    assert last_event(train, EventKind.RELEASE).message.endswith(": Missed the train")
    assert api.post(remove, {"reason": "again"}).status_code == 404  # no longer on it


def test_release_removal_follows_the_access_rule_and_the_state(
    api_as, manager, owner, qa, executive, engineer, stakeholder, other_manager
):
    train, *_ = drive(
        make_train(manager),
        "verification",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    release = train.application_releases.first()
    remove = f"/api/v1/trains/{train.pk}/releases/{release.pk}/remove/"
    assert api_as(manager).post(remove, {"reason": "Late"}).status_code == 409
    services.train_grant(train=train, by=manager, user=stakeholder)
    assert api_as(stakeholder).post(remove, {}).status_code == 403  # before the input
    assert api_as(other_manager).post(remove, {"reason": "x"}).status_code == 404
    release.refresh_from_db()
    assert release.train_id == train.pk
    unknown = api_as(manager).post(f"/api/v1/trains/{train.pk}/releases/", {"release": 999999})
    assert unknown.status_code in (400, 409)


# Exit criteria and approval requirements --------------------------------------------------


def test_manager_removes_a_manual_criterion_not_an_automatic_one(api_as, manager, stakeholder):
    train = make_train(manager)
    api = api_as(manager)
    manual = services.criterion_add(
        train=train, by=manager, phase="construction", description="Security review"
    )
    automatic = (
        train.criteria.exclude(pk=manual.pk).filter(rule__gt="").exclude(rule="manual").first()
    )
    services.train_grant(train=train, by=manager, user=stakeholder)
    assert api_as(stakeholder).delete(f"/api/v1/criteria/{manual.pk}/").status_code == 403
    assert api.delete(f"/api/v1/criteria/{manual.pk}/").status_code == 204
    assert not train.criteria.filter(pk=manual.pk).exists()
    assert (
        "Removed exit criterion: Security review" in last_event(train, EventKind.CRITERION).message
    )
    assert api.delete(f"/api/v1/criteria/{manual.pk}/").status_code == 404
    refused = api.delete(f"/api/v1/criteria/{automatic.pk}/")
    assert refused.status_code == 409 and "make them optional" in refused.json()["detail"]


def test_manager_removes_an_approval_requirement_in_scoping_only(
    api_as, manager, owner, executive, stakeholder, other_manager
):
    train = make_train(manager)
    dev, exe, _ = scope(train, manager=manager, owner=owner, releases=1)
    api = api_as(manager)
    services.train_grant(train=train, by=manager, user=stakeholder)
    assert api_as(stakeholder).delete(f"/api/v1/approval-requirements/{dev.pk}/").status_code == 403
    assert (
        api_as(other_manager).delete(f"/api/v1/approval-requirements/{dev.pk}/").status_code == 404
    )
    assert api.delete(f"/api/v1/approval-requirements/{dev.pk}/").status_code == 204
    assert last_event(train, EventKind.REQUIREMENT).message.startswith("Removed approver")
    assert list(train.approval_requirements.values_list("pk", flat=True)) == [exe.pk]
    services.requirement_add(train=train, by=manager, gate="development", user=manager)
    services.train_transition(train=train, name="start_construction", by=manager)
    assert train.__class__.objects.get(pk=train.pk).state == TrainState.CONSTRUCTION
    locked = api.delete(f"/api/v1/approval-requirements/{exe.pk}/")
    assert locked.status_code == 409 and "locked" in locked.json()["detail"]


def test_the_lists_run_a_constant_number_of_queries(
    api_as, manager, owner, stakeholder, qa, django_assert_max_num_queries
):
    train = make_train(manager)
    for i in range(4):
        services.milestone_add(train=train, by=manager, name=f"M{i}", due_date=train.start_date)
        services.release_add(
            train=train, release=ReleaseFactory(application__product_owner=owner), by=manager
        )
    for user in (stakeholder, qa):
        services.train_grant(train=train, by=manager, user=user)
    api = api_as(manager)
    api.get("/api/v1/webhooks/")
    # token and groups, the train with the caller's rights, the list
    with django_assert_max_num_queries(4):
        assert len(api.get(f"/api/v1/trains/{train.pk}/milestones/").json()) == 4
    with django_assert_max_num_queries(4):
        assert len(api.get(f"/api/v1/trains/{train.pk}/releases/").json()) == 4
    # … then the grants and their users
    with django_assert_max_num_queries(5):
        assert len(api.get(f"/api/v1/trains/{train.pk}/access/").json()) == 3
