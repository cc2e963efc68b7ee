"""Approval requirements, decisions and the inbox."""

import pytest
from django.contrib.auth.models import Group

from approvals.models import ApprovalDecision, ApprovalRequirement
from tests.factories import drive, fresh, make_train

pytestmark = pytest.mark.django_db


def test_manager_sets_requirements_by_user_and_by_group(api_as, manager, executive):
    train = make_train(manager)
    path = f"/api/v1/trains/{train.pk}/approval-requirements/"
    api = api_as(manager)
    by_user = api.post(path, {"gate": "development", "user": manager.pk})
    assert by_user.status_code == 201, by_user.content
    by_group = api.post(path, {"gate": "executive", "group": "executives"})
    assert by_group.status_code == 201, by_group.content
    listed = api.get(path).json()
    assert [(r["gate"], r["approvals"]) for r in listed] == [("development", 0), ("executive", 0)]
    assert listed[1]["group"] == "executives"


@pytest.mark.parametrize(
    "data,field",
    [
        ({"gate": "development"}, "non_field_errors"),
        ({"gate": "development", "user": "me", "group": "executives"}, "non_field_errors"),
        ({"gate": "development", "group": "no such group"}, "group"),
        ({"gate": "sideways", "group": "executives"}, "gate"),
        (
            {"gate": "executive", "group": "executives", "required_approvals": 0},
            "required_approvals",
        ),
        (
            {"gate": "executive", "group": "executives", "required_approvals": 50},
            "required_approvals",
        ),
    ],
)
def test_bad_requirements_are_400_per_field(api_as, manager, executive, data, field):
    train = make_train(manager)
    if data.get("user") == "me":
        data = {**data, "user": manager.pk}
    response = api_as(manager).post(f"/api/v1/trains/{train.pk}/approval-requirements/", data)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not ApprovalRequirement.objects.exists()


def test_the_primary_manager_as_executive_approver_is_a_400_saying_why(api_as, manager):
    train = make_train(manager)
    response = api_as(manager).post(
        f"/api/v1/trains/{train.pk}/approval-requirements/",
        {"gate": "executive", "user": manager.pk},
    )
    assert response.status_code == 400, response.content
    assert "may not give its executive approval" in response.json()["user"][0]
    assert not ApprovalRequirement.objects.exists()


def test_requirements_permissions_and_lock(api_as, manager, owner, qa, executive, engineer):
    train, *_ = drive(
        make_train(manager),
        "construction",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    path = f"/api/v1/trains/{train.pk}/approval-requirements/"
    data = {"gate": "executive", "user": executive.pk}
    assert api_as(manager).post(path, data).status_code == 409  # locked after scoping
    assert api_as(qa).post(path, data).status_code == 403
    assert api_as(executive).post(path, data).status_code == 403
    outsider_train = make_train(manager)
    assert (
        api_as(owner).get(f"/api/v1/trains/{outsider_train.pk}/approval-requirements/").status_code
        == 404
    )


@pytest.fixture
def at_dev_gate(manager, owner, qa, executive, engineer):
    return drive(
        make_train(manager),
        "development_approval",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )


def test_inbox_lists_what_waits_for_me(
    api_as, manager, executive, at_dev_gate, django_assert_max_num_queries
):
    train, dev, *_ = at_dev_gate
    api = api_as(manager)
    api.get("/api/v1/inbox/")
    # token with its user and the user's groups, count, page of requirements with their
    # trains and approvers
    with django_assert_max_num_queries(3):
        items = api.get("/api/v1/inbox/").json()["results"]
    assert [(i["requirement"], i["train"]["id"], i["round"]) for i in items] == [
        (dev.pk, train.pk, 1)
    ]
    assert api_as(executive).get("/api/v1/inbox/").json()["results"] == []


def test_approving_passes_the_gate(api_as, manager, at_dev_gate):
    train, dev, *_ = at_dev_gate
    response = api_as(manager).post(
        f"/api/v1/trains/{train.pk}/decisions/", {"requirement": dev.pk, "approve": True}
    )
    assert response.status_code == 201, response.content
    assert response.json()["train_state"] == "verification"
    assert fresh(train).state == "verification"


def test_rejecting_needs_a_comment_and_returns_the_train(api_as, manager, at_dev_gate):
    train, dev, *_ = at_dev_gate
    path = f"/api/v1/trains/{train.pk}/decisions/"
    api = api_as(manager)
    bare = api.post(path, {"requirement": dev.pk, "approve": False})
    assert bare.status_code == 400 and "comment" in bare.json()
    response = api.post(path, {"requirement": dev.pk, "approve": False, "comment": "Broken"})
    assert response.status_code == 201
    assert fresh(train).state == "construction"


def test_deciding_twice_or_at_the_wrong_gate_is_409(api_as, manager, executive, at_dev_gate):
    train, dev, exe, _ = at_dev_gate
    path = f"/api/v1/trains/{train.pk}/decisions/"
    response = api_as(executive).post(path, {"requirement": exe.pk, "approve": True})
    assert response.status_code == 409
    assert not ApprovalDecision.objects.exists()


@pytest.mark.parametrize("persona,status", [("qa", 403), ("engineer", 403), ("outsider", 404)])
def test_only_eligible_approvers_decide(api_as, request, at_dev_gate, persona, status):
    train, dev, *_ = at_dev_gate
    user = request.getfixturevalue(persona)
    response = api_as(user).post(
        f"/api/v1/trains/{train.pk}/decisions/", {"requirement": dev.pk, "approve": True}
    )
    assert response.status_code == status
    assert fresh(train).state == "development_approval"


def test_requirement_of_another_train_is_400(
    api_as, manager, owner, qa, executive, engineer, at_dev_gate
):
    train, *_ = at_dev_gate
    other, other_dev, *_ = drive(
        make_train(manager),
        "development_approval",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    response = api_as(manager).post(
        f"/api/v1/trains/{train.pk}/decisions/", {"requirement": other_dev.pk, "approve": True}
    )
    assert response.status_code == 400
    assert "requirement" in response.json()
    assert fresh(other).state == "development_approval"


def test_primary_manager_may_not_give_executive_approval(
    api_as, manager, owner, qa, executive, engineer
):
    train, _, exe, _ = drive(
        make_train(manager),
        "executive_approval",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    manager.groups.add(Group.objects.get(name="executives"))
    response = api_as(manager).post(
        f"/api/v1/trains/{train.pk}/decisions/", {"requirement": exe.pk, "approve": True}
    )
    assert response.status_code == 403
