"""GET/POST /api/v1/trains/, GET/PATCH /api/v1/trains/{id}/, GET .../events/."""

from datetime import timedelta

import pytest

from tests.factories import drive, make_train, schedule
from trains import services
from trains.models import ReleaseTrain

pytestmark = pytest.mark.django_db


def body(**overrides):
    dates = schedule()
    data = {
        "name": "2027.04 API train",
        "type": "major",
        "start_date": dates["start_date"].isoformat(),
        "end_date": dates["end_date"].isoformat(),
        "phase_ends": {k: v.isoformat() for k, v in dates["phase_ends"].items()},
    }
    data.update(overrides)
    return data


# list ---------------------------------------------------------------------------------


def test_list_shows_only_trains_the_caller_may_see(
    api_as, manager, other_manager, stakeholder, outsider
):
    mine = make_train(manager, name="Mine")
    shared = make_train(other_manager, name="Shared")
    make_train(other_manager, name="Hidden")
    services.train_grant(train=shared, by=other_manager, user=stakeholder)

    def names(user):
        return [t["name"] for t in api_as(user).get("/api/v1/trains/").json()["results"]]

    assert names(manager) == ["Mine"]
    assert names(stakeholder) == ["Shared"]
    assert names(outsider) == []
    assert mine.pk != shared.pk


def test_list_filters_state_type_manager_and_search(api_as, manager, other_manager, superuser):
    make_train(manager, name="Alpha", train_type="major", purpose="payments")
    beta = make_train(other_manager, name="Beta", train_type="patch")
    services.train_transition(train=beta, name="cancel", by=other_manager, reason="no")
    api = api_as(superuser)

    def names(**params):
        response = api.get("/api/v1/trains/", **params)
        assert response.status_code == 200, response.content
        return [t["name"] for t in response.json()["results"]]

    assert names(state="cancelled") == ["Beta"]
    assert names(type="major") == ["Alpha"]
    assert names(train_type="patch") == ["Beta"]
    assert names(manager=other_manager.pk) == ["Beta"]
    assert names(q="PAYM") == ["Alpha"]


@pytest.mark.parametrize(
    "params",
    [{"state": "nope"}, {"type": "huge"}, {"manager": "abc"}, {"starts_after": "yesterday"}],
)
def test_list_refuses_bad_filters_per_field(api_as, manager, params):
    response = api_as(manager).get("/api/v1/trains/", **params)
    assert response.status_code == 400
    assert set(response.json()) <= {"state", "type", "manager", "starts_after"}


def test_list_is_paginated(api_as, manager):
    for i in range(3):
        make_train(manager, name=f"T{i}")
    page = api_as(manager).get("/api/v1/trains/", page_size=2).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert api_as(manager).get("/api/v1/trains/", page=99).status_code == 404


def test_list_runs_a_constant_number_of_queries(api_as, manager, django_assert_max_num_queries):
    api = api_as(manager)
    api.get("/api/v1/trains/")  # the token's last use is written on the first call
    for i in range(2):
        make_train(manager, name=f"Few {i}")
    # 1 token with its user and the user's groups, 2 count, 3 page of trains with
    # managers, 4 phases, 5 release engineers
    with django_assert_max_num_queries(5):
        assert len(api.get("/api/v1/trains/").json()["results"]) == 2
    for i in range(8):
        make_train(manager, name=f"Many {i}")
    with django_assert_max_num_queries(5):
        assert len(api.get("/api/v1/trains/").json()["results"]) == 10


# create -------------------------------------------------------------------------------


def test_manager_submits_a_train(api_as, manager):
    response = api_as(manager).post("/api/v1/trains/", body())
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["state"] == "scoping"
    assert data["primary_manager"]["username"] == "manager"
    assert [p["kind"] for p in data["phases"]] == [
        "scoping",
        "construction",
        "verification",
        "deployment",
    ]
    assert data["steps"][0]["name"] == "start_construction"
    assert data["steps"][0]["unmet"]  # no approvers, no releases yet
    assert ReleaseTrain.objects.get(pk=data["id"]).created_by == manager


@pytest.mark.parametrize("persona", ["owner", "qa", "executive", "engineer", "stakeholder"])
def test_only_release_managers_submit_trains(api_as, request, persona):
    user = request.getfixturevalue(persona)
    response = api_as(user).post("/api/v1/trains/", body())
    assert response.status_code == 403
    assert not ReleaseTrain.objects.exists()


def test_bad_train_is_400_per_field(api_as, manager):
    make_train(manager, name="Taken")
    data = body(name="taken", end_date="2000-01-01")
    data["phase_ends"]["verification"] = "1999-01-01"
    response = api_as(manager).post("/api/v1/trains/", data)
    assert response.status_code == 400
    errors = response.json()
    assert "name" in errors and "end_date" in errors
    assert "verification" in errors["phase_ends"]
    assert ReleaseTrain.objects.count() == 1


def test_primary_manager_must_be_a_release_manager(api_as, manager, owner):
    response = api_as(manager).post("/api/v1/trains/", body(primary_manager=owner.pk))
    assert response.status_code == 400
    assert "primary_manager" in response.json()


@pytest.mark.parametrize(
    "data",
    [
        {},
        [],
        "train",
        {"name": None, "type": "major"},
        {"name": "x", "type": "major", "start_date": 5, "end_date": {"a": 1}},
        {"name": "\x00", "type": "major", "start_date": "2026-01-01", "end_date": "2026-02-01"},
        {"name": "x" * 500, "type": "major", "start_date": "2026-01-01", "end_date": "2026-02-01"},
        {**body(), "release_engineers": [10**12]},
        {**body(), "primary_manager": "1; DROP TABLE trains_releasetrain"},
        {**body(), "phase_ends": "soon"},
    ],
)
def test_hostile_input_is_400_never_500(api_as, manager, data):
    response = api_as(manager).post("/api/v1/trains/", data)
    assert response.status_code == 400, response.content


def test_invalid_json_is_400(api_as, manager):
    api = api_as(manager)
    response = api.client.post("/api/v1/trains/", "{nope", content_type="application/json")
    assert response.status_code == 400
    response = api.client.post("/api/v1/trains/", "name=x", content_type="text/plain")
    assert response.status_code == 415


# detail and patch ----------------------------------------------------------------------


def test_detail_404_for_a_train_the_caller_may_not_see(api_as, manager, outsider):
    train = make_train(manager)
    assert api_as(outsider).get(f"/api/v1/trains/{train.pk}/").status_code == 404
    assert api_as(manager).get("/api/v1/trains/999999/").status_code == 404
    assert api_as(manager).get("/api/v1/trains/99999999999999999999/").status_code == 404
    assert api_as(manager).get("/api/v1/trains/abc/").status_code == 404


def test_detail_shows_steps_for_the_caller(api_as, manager, stakeholder):
    train = make_train(manager)
    services.train_grant(train=train, by=manager, user=stakeholder)
    steps = {
        s["name"]: s for s in api_as(stakeholder).get(f"/api/v1/trains/{train.pk}/").json()["steps"]
    }
    assert steps["start_construction"]["allowed"] is False
    assert steps["start_construction"]["possible_now"] is True
    assert steps["deploy"]["possible_now"] is False


def test_manager_changes_dates_and_name(api_as, manager):
    train = make_train(manager)
    new_end = (train.end_date + timedelta(days=3)).isoformat()
    response = api_as(manager).patch(
        f"/api/v1/trains/{train.pk}/", {"name": "Renamed", "end_date": new_end}
    )
    assert response.status_code == 200, response.content
    train.refresh_from_db()
    assert (train.name, train.end_date.isoformat()) == ("Renamed", new_end)


def test_patch_permissions(api_as, manager, other_manager, stakeholder, outsider):
    train = make_train(manager)
    services.train_grant(train=train, by=manager, user=stakeholder)
    services.train_grant(train=train, by=manager, user=other_manager)
    path = f"/api/v1/trains/{train.pk}/"
    assert api_as(outsider).patch(path, {"name": "x"}).status_code == 404
    assert api_as(stakeholder).patch(path, {"name": "x"}).status_code == 403
    assert api_as(other_manager).patch(path, {"name": "x"}).status_code == 403
    train.refresh_from_db()
    assert train.name != "x"


def test_patch_of_closed_train_is_409(api_as, manager, owner, qa, executive, engineer):
    train, *_ = drive(
        make_train(manager),
        "closed",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    response = api_as(manager).patch(f"/api/v1/trains/{train.pk}/", {"purpose": "late"})
    assert response.status_code == 409
    assert "closed" in response.json()["detail"]


def test_patch_bad_schedule_is_400(api_as, manager):
    train = make_train(manager)
    response = api_as(manager).patch(
        f"/api/v1/trains/{train.pk}/", {"phase_ends": {"scoping": "1990-01-01"}}
    )
    assert response.status_code == 400
    assert "scoping" in response.json()["phase_ends"]


def test_wrong_method_is_405(api_as, manager):
    train = make_train(manager)
    assert api_as(manager).client.delete(f"/api/v1/trains/{train.pk}/").status_code == 405


# events ----------------------------------------------------------------------------------


def test_events_newest_first_and_hidden_from_outsiders(api_as, manager, outsider):
    train = make_train(manager)
    services.train_transition(train=train, name="cancel", by=manager, reason="budget")
    events = api_as(manager).get(f"/api/v1/trains/{train.pk}/events/").json()["results"]
    assert [e["kind"] for e in events] == ["transition", "created"]
    assert events[0]["message"] == "budget"
    assert events[0]["actor"]["username"] == "manager"
    assert api_as(outsider).get(f"/api/v1/trains/{train.pk}/events/").status_code == 404
