"""Applications, application releases (and their transitions), turnovers."""

import pytest

from applications.models import Application, ApplicationRelease
from tests.factories import ApplicationFactory, ReleaseFactory, drive, fresh, make_train
from trains import services

pytestmark = pytest.mark.django_db


# applications ---------------------------------------------------------------------------


def test_owner_registers_an_application_listed_as_on_the_pages(
    api_as, owner, manager, engineer, stakeholder
):
    response = api_as(owner).post("/api/v1/applications/", {"name": "Billing"})
    assert response.status_code == 201, response.content
    assert response.json()["product_owner"]["username"] == "owner"
    for person in (owner, manager, engineer):
        listed = api_as(person).get("/api/v1/applications/").json()["results"]
        assert [a["name"] for a in listed] == ["Billing"], person
    # the applications page is not theirs, and neither is the list
    assert api_as(stakeholder).get("/api/v1/applications/").json()["results"] == []


@pytest.mark.parametrize("persona", ["qa", "executive", "engineer", "stakeholder"])
def test_only_managers_and_owners_register_applications(api_as, request, persona):
    user = request.getfixturevalue(persona)
    assert api_as(user).post("/api/v1/applications/", {"name": "X"}).status_code == 403
    assert not Application.objects.exists()


def test_duplicate_application_name_is_400(api_as, owner):
    ApplicationFactory(name="Billing", product_owner=owner)
    response = api_as(owner).post("/api/v1/applications/", {"name": "Billing"})
    assert response.status_code == 400 and "name" in response.json()


# releases -------------------------------------------------------------------------------


def test_releases_on_hidden_trains_are_not_listed(api_as, manager, other_manager, owner, outsider):
    mine, hidden = make_train(manager), make_train(other_manager)
    on_mine = ReleaseFactory(application__product_owner=owner)
    on_hidden = ReleaseFactory(application__product_owner=owner)
    free = ReleaseFactory(application__product_owner=owner)
    services.release_add(train=mine, release=on_mine, by=manager)
    services.release_add(train=hidden, release=on_hidden, by=other_manager)

    def ids(user, **params):
        return {
            r["id"]
            for r in api_as(user).get("/api/v1/application-releases/", **params).json()["results"]
        }

    assert ids(manager) == {on_mine.pk, free.pk}
    assert ids(manager, train=mine.pk) == {on_mine.pk}
    assert ids(manager, train=hidden.pk) == set()
    assert ids(outsider) == set()  # no application of theirs, no train shared with them


def test_manager_adds_a_release_straight_onto_a_train(api_as, manager, owner):
    train = make_train(manager)
    app = ApplicationFactory(product_owner=owner)
    response = api_as(manager).post(
        "/api/v1/application-releases/",
        {"application": app.pk, "version": "3.1", "train": train.pk},
    )
    assert response.status_code == 201, response.content
    assert response.json()["train"] == train.pk


def test_release_that_cannot_join_its_train_is_not_kept(api_as, manager, owner):
    train = make_train(manager)
    app = ApplicationFactory(product_owner=owner)
    response = api_as(owner).post(
        "/api/v1/application-releases/",
        {"application": app.pk, "version": "3.1", "train": train.pk},
    )
    assert response.status_code == 400  # the owner cannot see the train: no such train
    services.train_grant(train=train, by=manager, user=owner)
    response = api_as(owner).post(
        "/api/v1/application-releases/",
        {"application": app.pk, "version": "3.1", "train": train.pk},
    )
    assert response.status_code == 403  # sees it, may not manage it
    assert not ApplicationRelease.objects.exists()


def test_release_of_someone_elses_application_is_403(api_as, owner, role_groups):
    from releasemgr import roles
    from tests.factories import UserFactory

    other_owner = UserFactory(username="other_owner", roles=[roles.PRODUCT_OWNERS])
    app = ApplicationFactory(product_owner=other_owner)
    response = api_as(owner).post(
        "/api/v1/application-releases/", {"application": app.pk, "version": "1"}
    )
    assert response.status_code == 403


def test_owner_moves_a_release_through_development(api_as, manager, owner, executive, qa, engineer):
    train, _, _, releases = drive(
        make_train(manager),
        "construction",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
        releases=1,
    )
    path = f"/api/v1/application-releases/{releases[0].pk}/transitions"
    api = api_as(owner)
    assert api.post(f"{path}/start_development/").json()["state"] == "in_development"
    assert api.post(f"{path}/start_development/").status_code == 409
    assert api.post(f"{path}/complete_development/").json()["state"] == "development_complete"
    assert fresh(train).state == "development_approval"  # the last one moved the train


@pytest.mark.parametrize("persona,status", [("manager", 403), ("qa", 403), ("outsider", 404)])
def test_release_transition_permissions(api_as, request, manager, owner, persona, status):
    train = make_train(manager)
    release = ReleaseFactory(application__product_owner=owner)
    services.release_add(train=train, release=release, by=manager)
    user = request.getfixturevalue(persona)
    response = api_as(user).post(
        f"/api/v1/application-releases/{release.pk}/transitions/start_development/"
    )
    assert response.status_code == status
    assert fresh(release).state == "planned"


def test_unknown_release_step_is_404(api_as, owner):
    release = ReleaseFactory(application__product_owner=owner)
    response = api_as(owner).post(f"/api/v1/application-releases/{release.pk}/transitions/ship/")
    assert response.status_code == 404


# turnovers ------------------------------------------------------------------------------


@pytest.fixture
def deploying(manager, owner, qa, executive, engineer):
    """A train in deployment whose single release has no turnover yet."""
    train, _, exe, releases = drive(
        make_train(manager),
        "executive_approval",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
        releases=1,
    )
    services.decision_record(requirement=exe, by=executive, approve=True)
    return fresh(train), fresh(releases[0])


def test_turnover_submitted_accepted_and_listed(api_as, owner, engineer, outsider, deploying):
    train, release = deploying
    created = api_as(owner).post(
        "/api/v1/turnovers/", {"release": release.pk, "description": "Build 42"}
    )
    assert created.status_code == 201, created.content
    turnover = created.json()
    accepted = api_as(engineer).post(f"/api/v1/turnovers/{turnover['id']}/accept/")
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "accepted"
    assert accepted.json()["decided_by"]["username"] == "engineer"
    assert api_as(engineer).post(f"/api/v1/turnovers/{turnover['id']}/accept/").status_code == 409
    assert [t["id"] for t in api_as(owner).get("/api/v1/turnovers/").json()["results"]] == [
        turnover["id"]
    ]
    assert api_as(outsider).get("/api/v1/turnovers/").json()["results"] == []
    assert (
        api_as(outsider)
        .post(f"/api/v1/turnovers/{turnover['id']}/reject/", {"reason": "x"})
        .status_code
        == 404
    )


def test_rejecting_a_turnover_needs_a_reason(api_as, owner, engineer, deploying):
    _, release = deploying
    turnover = services.turnover_submit(release=release, by=owner, description="Build 42")
    path = f"/api/v1/turnovers/{turnover.pk}/reject/"
    assert api_as(engineer).post(path, {"reason": ""}).status_code == 400
    response = api_as(engineer).post(path, {"reason": "Runbook missing"})
    assert response.status_code == 200
    assert response.json()["rejection_reason"] == "Runbook missing"


def test_only_engineers_decide_turnovers(api_as, manager, owner, deploying):
    _, release = deploying
    turnover = services.turnover_submit(release=release, by=owner, description="Build 42")
    assert api_as(owner).post(f"/api/v1/turnovers/{turnover.pk}/accept/").status_code == 403
    assert api_as(manager).post(f"/api/v1/turnovers/{turnover.pk}/accept/").status_code == 403


def test_turnover_before_construction_is_409(api_as, manager, owner):
    train = make_train(manager)
    release = ReleaseFactory(application__product_owner=owner)
    services.release_add(train=train, release=release, by=manager)
    response = api_as(owner).post("/api/v1/turnovers/", {"release": release.pk, "description": "x"})
    assert response.status_code == 409


def test_turnover_by_someone_else_is_403(api_as, manager, deploying):
    _, release = deploying
    response = api_as(manager).post(
        "/api/v1/turnovers/", {"release": release.pk, "description": "x"}
    )
    assert response.status_code == 403
