"""The API of re-planning and health: the same services and access as the pages."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import drive, fresh, make_train

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(people):
    client = APIClient()
    client.force_authenticate(people["manager"])
    return client


def test_status_carries_health_and_slip_and_dates_move(api, people):
    train, *_ = drive(make_train(people["manager"]), "construction", **people)
    data = api.get(f"/api/v1/trains/{train.pk}/").json()["status"]
    assert data["health"] in ("green", "amber", "red")
    assert data["slip"]["baseline"] == 1 and data["slip"]["total"] == 0
    deployment_end = train.phases.get(kind="deployment").planned_end
    response = api.post(
        f"/api/v1/trains/{train.pk}/plan/",
        {
            "reason": "Late vendor",
            "end_date": (train.end_date + timedelta(days=9)).isoformat(),
            "phase_ends": {"deployment": (deployment_end + timedelta(days=9)).isoformat()},
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    status = response.json()["status"]
    assert status["slip"]["total"] == 9 and status["health"] == "amber"
    refused = api.post(
        f"/api/v1/trains/{train.pk}/plan/",
        {"reason": "x", "phase_ends": {"scoping": train.start_date.isoformat()}},
        format="json",
    )
    assert refused.status_code == 400
    assert "cannot move" in str(refused.json())


def test_baselines_scope_and_health_override(api, people, other_manager):
    train, *_ = drive(make_train(people["manager"]), "construction", **people)
    assert api.post(f"/api/v1/trains/{train.pk}/baselines/", {}, format="json").status_code == 400
    created = api.post(f"/api/v1/trains/{train.pk}/baselines/", {"reason": "CAB"}, format="json")
    assert created.status_code == 201 and created.json()["number"] == 2
    assert [b["number"] for b in api.get(f"/api/v1/trains/{train.pk}/baselines/").json()] == [
        2,
        1,
    ]
    assert api.get(f"/api/v1/trains/{train.pk}/scope-since-baseline/").json() == []
    until = timezone.localdate() + timedelta(days=4)
    set_ = api.post(
        f"/api/v1/trains/{train.pk}/health-override/",
        {"health": "red", "until": until.isoformat(), "reason": "Outage"},
        format="json",
    )
    assert set_.status_code == 200
    override = set_.json()["status"]["override"]
    assert override["health"] == "red" and override["reason"] == "Outage"
    cleared = api.delete(f"/api/v1/trains/{train.pk}/health-override/")
    assert cleared.json()["status"]["override"] is None
    assert fresh(train).events.filter(kind="health").count() == 2
    other = APIClient()
    other.force_authenticate(other_manager)
    assert other.get(f"/api/v1/trains/{train.pk}/baselines/").status_code == 404
    qa = APIClient()
    qa.force_authenticate(people["qa"])
    refused = qa.post(f"/api/v1/trains/{train.pk}/baselines/", {"reason": "mine"}, format="json")
    assert refused.status_code == 403
