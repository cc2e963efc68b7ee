"""POST /api/v1/trains/{id}/transitions/{name}/ and /deployments/: every answer code."""

import pytest

from tests.factories import drive, fresh, make_train, scope
from trains import services

pytestmark = pytest.mark.django_db


def step(api, train, name, data=None):
    return api.post(f"/api/v1/trains/{train.pk}/transitions/{name}/", data)


def test_start_construction_200_with_the_train(api_as, manager, owner, executive):
    train = make_train(manager)
    scope(train, manager=manager, owner=owner)
    response = step(api_as(manager), train, "start_construction")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "construction"
    assert fresh(train).state == "construction"


def test_unmet_conditions_are_422_in_words(api_as, manager):
    train = make_train(manager)
    response = step(api_as(manager), train, "start_construction")
    assert response.status_code == 422
    unmet = response.json()["unmet"]
    assert any("no approvers" in u for u in unmet)
    assert any("no application release" in u for u in unmet)
    assert fresh(train).state == "scoping"


def test_wrong_state_is_409(api_as, manager):
    train = make_train(manager)
    response = step(api_as(manager), train, "request_executive_approval")
    assert response.status_code == 409
    assert "scoping" in response.json()["detail"]


def test_someone_moved_it_first_is_409(api_as, manager, owner, executive):
    train = make_train(manager)
    scope(train, manager=manager, owner=owner)
    response = step(
        api_as(manager), train, "start_construction", {"expected_state": "verification"}
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "Someone else moved this train first: it is now in scoping."
    assert fresh(train).state == "scoping"


def test_cancel_needs_a_reason_400(api_as, manager):
    train = make_train(manager)
    response = step(api_as(manager), train, "cancel", {"reason": "   "})
    assert response.status_code == 400
    assert "reason" in response.json()
    response = step(api_as(manager), train, "cancel", {"reason": "Budget cut"})
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"


@pytest.mark.parametrize(
    "persona,status",
    [
        ("manager", 200),
        ("other_manager", 404),  # not shared with them
        ("stakeholder", 403),  # may see, may not act
        ("qa", 403),  # QA sees every train by default
        ("engineer", 403),
        ("owner", 403),  # owns a release on it
        ("outsider", 404),
    ],
)
def test_permission_matrix_for_transitions(
    api_as, request, manager, owner, executive, stakeholder, persona, status
):
    train = make_train(manager)
    scope(train, manager=manager, owner=owner)
    services.train_grant(train=train, by=manager, user=stakeholder)
    user = request.getfixturevalue(persona)
    response = step(api_as(user), train, "start_construction")
    assert response.status_code == status, response.content
    assert fresh(train).state == ("construction" if status == 200 else "scoping")


def test_granted_manager_may_act(api_as, manager, other_manager, owner, executive):
    train = make_train(manager)
    scope(train, manager=manager, owner=owner)
    services.train_grant(train=train, by=manager, user=other_manager, level="manage")
    assert step(api_as(other_manager), train, "start_construction").status_code == 200


@pytest.mark.parametrize("name", ["approve_development", "reject_executive", "deploy", "fly"])
def test_steps_not_taken_here_are_404_with_a_pointer(api_as, manager, name):
    train = make_train(manager)
    response = step(api_as(manager), train, name)
    assert response.status_code == 404
    assert "No step" in response.json()["detail"]


def test_get_is_405(api_as, manager):
    train = make_train(manager)
    path = f"/api/v1/trains/{train.pk}/transitions/cancel/"
    assert api_as(manager).get(path).status_code == 405


# deployments ---------------------------------------------------------------------------


@pytest.fixture
def deploying(manager, owner, qa, executive, engineer):
    train, *_ = drive(
        make_train(manager),
        "deployment",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    return train


def test_failed_deployment_keeps_the_train_in_deployment(api_as, engineer, deploying):
    response = api_as(engineer).post(
        f"/api/v1/trains/{deploying.pk}/deployments/", {"succeeded": False, "log": "timeout"}
    )
    assert response.status_code == 201
    assert response.json()["train_state"] == "deployment"
    assert deploying.deployments.get().log == "timeout"


def test_successful_deployment_closes_the_train(api_as, manager, deploying):
    response = api_as(manager).post(
        f"/api/v1/trains/{deploying.pk}/deployments/", {"succeeded": True}
    )
    assert response.status_code == 201
    assert fresh(deploying).state == "closed"


@pytest.mark.parametrize(
    "persona,status", [("qa", 403), ("owner", 403), ("executive", 403), ("outsider", 404)]
)
def test_only_managers_and_engineers_deploy(api_as, request, deploying, persona, status):
    user = request.getfixturevalue(persona)
    response = api_as(user).post(f"/api/v1/trains/{deploying.pk}/deployments/", {"succeeded": True})
    assert response.status_code == status
    assert fresh(deploying).state == "deployment"


def test_deploying_in_the_wrong_state_is_409(api_as, manager):
    train = make_train(manager)
    response = api_as(manager).post(f"/api/v1/trains/{train.pk}/deployments/", {"succeeded": True})
    assert response.status_code == 409


def test_deploying_without_accepted_turnovers_is_422(
    api_as, manager, owner, qa, executive, engineer
):
    train, _, exe, rels = drive(
        make_train(manager),
        "executive_approval",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    services.decision_record(requirement=exe, by=executive, approve=True)
    response = api_as(engineer).post(f"/api/v1/trains/{train.pk}/deployments/", {"succeeded": True})
    assert response.status_code == 422
    assert any("turnover" in u for u in response.json()["unmet"])


@pytest.mark.parametrize("data", [{}, {"succeeded": "maybe"}, {"succeeded": True, "log": 5 * [1]}])
def test_bad_deployment_body_is_400(api_as, manager, deploying, data):
    response = api_as(manager).post(f"/api/v1/trains/{deploying.pk}/deployments/", data)
    assert response.status_code == 400


def test_a_deployment_expecting_a_state_the_train_left_is_409(api_as, people):
    train, *_ = drive(make_train(people["manager"]), "deployment", **people)
    client = api_as(people["engineer"])
    url = f"/api/v1/trains/{train.pk}/deployments/"
    response = client.post(url, {"succeeded": True, "expected_state": "verification"})
    assert response.status_code == 409
    moved = "Someone else moved this train first: it is now in deployment."
    assert response.json()["detail"] == moved
    assert not fresh(train).deployments.exists()
    response = client.post(url, {"succeeded": True, "expected_state": "deployment"})
    assert response.status_code == 201
