"""Exit criteria: list with their status, add, check and uncheck, make optional."""

import pytest

from tests.factories import drive, fresh, make_train
from trains import services
from trains.choices import CriterionCheck, EventKind

pytestmark = pytest.mark.django_db


def test_list_says_which_criteria_hold_and_why_not(api_as, manager, django_assert_max_num_queries):
    train = make_train(manager)
    api = api_as(manager)
    api.get(f"/api/v1/trains/{train.pk}/criteria/")
    # token, train, criteria with who met them, then 3 for the automatic checks' facts
    with django_assert_max_num_queries(6):
        criteria = api.get(f"/api/v1/trains/{train.pk}/criteria/").json()
    by_rule = {c["rule"]: c for c in criteria}
    assert by_rule["phase_dates_set"]["met"] is True
    assert by_rule["has_releases"]["met"] is False
    assert "no application release" in by_rule["has_releases"]["detail"]
    assert by_rule["manual"]["automatic"] is False


def test_manager_adds_a_criterion(api_as, manager, stakeholder):
    train = make_train(manager)
    path = f"/api/v1/trains/{train.pk}/criteria/"
    data = {"phase": "construction", "description": "Security review done"}
    response = api_as(manager).post(path, data)
    assert response.status_code == 201
    assert response.json()["met"] is False
    services.train_grant(train=train, by=manager, user=stakeholder)
    assert api_as(stakeholder).post(path, data).status_code == 403
    assert api_as(manager).post(path, {"phase": "nope", "description": ""}).status_code == 400


def test_adding_to_a_passed_phase_is_409(api_as, manager, owner, qa, executive, engineer):
    train, *_ = drive(
        make_train(manager),
        "verification",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    response = api_as(manager).post(
        f"/api/v1/trains/{train.pk}/criteria/", {"phase": "scoping", "description": "Late"}
    )
    assert response.status_code == 409


@pytest.fixture
def verifying(manager, owner, qa, executive, engineer):
    train, *_ = drive(
        make_train(manager),
        "verification",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    criterion = train.criteria.get(phase="verification", rule="manual")
    services.criterion_set_met(criterion=criterion, by=qa, met=False)
    return train, criterion


def test_qa_checks_and_unchecks_a_verification_criterion(api_as, qa, verifying):
    _, criterion = verifying
    api = api_as(qa)
    checked = api.post(f"/api/v1/criteria/{criterion.pk}/check/")
    assert checked.status_code == 200 and checked.json()["met"] is True
    assert checked.json()["met_by"]["username"] == "qa"
    unchecked = api.post(f"/api/v1/criteria/{criterion.pk}/uncheck/")
    assert unchecked.status_code == 200 and unchecked.json()["met"] is False


@pytest.mark.parametrize(
    "persona,status",
    [("manager", 200), ("qa", 200), ("owner", 403), ("engineer", 403), ("outsider", 404)],
)
def test_check_permission_matrix(api_as, request, verifying, persona, status):
    _, criterion = verifying
    user = request.getfixturevalue(persona)
    assert api_as(user).post(f"/api/v1/criteria/{criterion.pk}/check/").status_code == status


def test_checking_outside_the_phase_is_409_and_automatic_ones_too(api_as, manager):
    train = make_train(manager)
    manual = services.criterion_add(
        train=train, by=manager, phase="verification", description="Pen test"
    )
    automatic = train.criteria.get(rule="has_releases")
    api = api_as(manager)
    assert api.post(f"/api/v1/criteria/{manual.pk}/check/").status_code == 409
    assert api.post(f"/api/v1/criteria/{automatic.pk}/check/").status_code == 409
    assert api.post("/api/v1/criteria/999999/check/").status_code == 404


def test_manager_makes_a_criterion_optional_and_required_again(api_as, manager):
    train = make_train(manager)
    criterion = train.criteria.get(rule=CriterionCheck.HAS_RELEASES)
    api = api_as(manager)
    optional = api.post(f"/api/v1/criteria/{criterion.pk}/required/", {"required": False})
    assert optional.status_code == 200, optional.content
    assert optional.json()["required"] is False and optional.json()["automatic"] is True
    assert fresh(criterion).required is False
    event = train.events.latest("id")
    assert event.kind == EventKind.CRITERION
    assert event.data == {"criterion": criterion.pk, "required": False}
    again = api.post(f"/api/v1/criteria/{criterion.pk}/required/", {"required": True})
    assert again.status_code == 200 and again.json()["required"] is True


@pytest.mark.parametrize(
    ("persona", "status"), [("manager", 400), ("stakeholder", 403), ("outsider", 404)]
)
def test_making_a_criterion_optional_is_for_its_managers(
    api_as, request, manager, stakeholder, persona, status
):
    train = make_train(manager)
    services.train_grant(train=train, by=manager, user=stakeholder)
    criterion = train.criteria.get(rule=CriterionCheck.HAS_RELEASES)
    user = request.getfixturevalue(persona)
    # no body: its managers hear the input is wrong, the others that they may not
    response = api_as(user).post(f"/api/v1/criteria/{criterion.pk}/required/")
    assert response.status_code == status, response.content
    refused = api_as(user).post(f"/api/v1/criteria/{criterion.pk}/required/", {"required": 0.5})
    assert refused.status_code == status
    assert fresh(criterion).required is True


def test_making_a_criterion_of_a_passed_phase_optional_is_409_saying_why(
    api_as, manager, owner, qa, executive, engineer
):
    train, *_ = drive(
        make_train(manager),
        "construction",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    criterion = train.criteria.get(rule=CriterionCheck.HAS_RELEASES)
    response = api_as(manager).post(
        f"/api/v1/criteria/{criterion.pk}/required/", {"required": False}
    )
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "The scoping phase is over: its exit criteria can no longer change."
    )
    assert fresh(criterion).required is True
