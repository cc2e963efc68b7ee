"""/api/v1/templates/, /api/v1/trains/{id}/clone/, /api/v1/schedules/."""

from datetime import date

import pytest

from tests.factories import ReleaseFactory, make_train, schedule, scope
from trains.models import CadenceSchedule, ReleaseTrain, TrainTemplate

pytestmark = pytest.mark.django_db

START = date(2027, 1, 4)


@pytest.fixture
def source(manager, owner, executive):
    train = make_train(manager, name="2027.01 Monthly train", **schedule(START))
    scope(train, manager=manager, owner=owner)
    return train


def test_clone_offer_and_clone(api_as, manager, source):
    api = api_as(manager)
    nxt = ReleaseFactory(application=source.application_releases.first().application)
    offer = api.get(f"/api/v1/trains/{source.pk}/clone/").json()
    assert offer["suggested_start"] == "2027-02-03"  # the day after it ends
    assert offer["suggested_name"] == "2027.02 Monthly train"
    assert [r["id"] for r in offer["releases"]] == [nxt.pk]
    response = api.post(
        f"/api/v1/trains/{source.pk}/clone/",
        {"start_date": "2027-03-01", "releases": [nxt.pk]},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "2027.03 Monthly train"
    assert body["start_date"] == "2027-03-01"
    assert ReleaseTrain.objects.get(pk=body["id"]).application_releases.get() == nxt


def test_clone_refusals(api_as, manager, other_manager, qa, source):
    assert (
        api_as(other_manager)
        .post(f"/api/v1/trains/{source.pk}/clone/", {"start_date": "2027-03-01"})
        .status_code
        == 404
    )
    assert api_as(manager).post(
        f"/api/v1/trains/{source.pk}/clone/", {"start_date": "2027-03-01", "name": source.name}
    ).json() == {"name": ["An open train already has this name."]}
    assert (
        api_as(manager)
        .post(f"/api/v1/trains/{source.pk}/clone/", {"start_date": "2027-03-01", "releases": [999]})
        .status_code
        == 404
    )
    assert ReleaseTrain.objects.count() == 1


def test_templates_crud_and_history(api_as, manager, qa, source):
    api = api_as(manager)
    created = api.post("/api/v1/templates/", {"train": source.pk, "name": "Monthly"})
    assert created.status_code == 201, created.json()
    template = created.json()
    assert template["name_pattern"] == "{year}.{month:02} Monthly train"
    assert api.get("/api/v1/templates/").json()[0]["id"] == template["id"]
    changed = api.patch(f"/api/v1/templates/{template['id']}/", {"duration_days": 40})
    assert changed.json()["duration_days"] == 40
    bad = api.patch(f"/api/v1/templates/{template['id']}/", {"name_pattern": "{nope}"})
    assert bad.status_code == 400 and "Unknown placeholder {nope}" in bad.json()["name_pattern"][0]
    events = api.get(f"/api/v1/templates/{template['id']}/events/").json()
    assert events[0]["message"] == "Changed window length (days): 29 → 40"
    train = api.post(
        f"/api/v1/templates/{template['id']}/trains/", {"start_date": "2027-06-07"}
    ).json()
    assert (train["name"], train["end_date"]) == ("2027.06 Monthly train", "2027-07-17")
    assert api_as(qa).get("/api/v1/templates/").status_code == 403


def test_schedules_crud_pause_and_run(api_as, manager, source, settings):
    settings.CADENCE_AHEAD = 2
    api = api_as(manager)
    template = TrainTemplate.objects.create(
        name="Monthly",
        name_pattern="{year}.{month:02} Monthly",
        train_type="minor",
        primary_manager=manager,
        duration_days=20,
        created_by=manager,
    )
    url = f"/api/v1/templates/{template.pk}/schedules/"
    bad = api.post(url, {"cadence": "weeks", "start_date": "2027-02-01", "name_pattern": "{year}"})
    assert bad.status_code == 400 and "alike" in bad.json()["name_pattern"][0]
    made = api.post(
        url,
        {"cadence": "monthly_weekday", "ordinal": 1, "weekday": 0, "start_date": "2027-02-01"},
    )
    assert made.status_code == 201, made.json()
    sid = made.json()["id"]
    assert made.json()["description"] == "first Monday of every month from 2027-02-01"
    ran = api.post(f"/api/v1/schedules/{sid}/run/").json()
    assert len(ran["made_trains"]) == 2
    assert api.post(f"/api/v1/schedules/{sid}/pause/").json()["paused"] is True
    assert api.post(f"/api/v1/schedules/{sid}/run/").status_code == 409
    assert api.post(f"/api/v1/schedules/{sid}/resume/").json()["paused"] is False
    patched = api.patch(f"/api/v1/schedules/{sid}/", {"end_date": "2027-01-01"})
    assert patched.json() == {"end_date": ["The schedule cannot end before it starts."]}
    assert [x["id"] for x in api.get("/api/v1/schedules/").json()] == [sid]
    assert api.client.delete(f"/api/v1/schedules/{sid}/").status_code == 204
    assert not CadenceSchedule.objects.exists()
