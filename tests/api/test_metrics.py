"""/api/v1/metrics/: the metrics page's figures, with its access policy."""

import pytest

from tests.trains.test_metrics import history  # noqa: F401 - the known history

pytestmark = pytest.mark.django_db

QUERY = {"first": "2025-01-01", "last": "2025-03-31"}


def test_the_figures_are_the_pages(api_as, manager, history):  # noqa: F811
    response = api_as(manager).get("/api/v1/metrics/", **QUERY)
    assert response.status_code == 200
    data = response.json()
    assert (data["first"], data["last"]) == ("2025-01-01", "2025-03-31")
    slip = {row["key"]: row for row in data["slip"]}
    assert slip["*"]["median"] == pytest.approx(1.5) and slip["*"]["p90"] == pytest.approx(2.6)
    assert slip["construction"]["p90"] == pytest.approx(3.8)
    assert data["change_failure_rate"] == pytest.approx(1 / 3)
    assert data["time_to_restore"]["median"] == pytest.approx(1.5)
    assert data["emergency_share"] == [{"month": "2025-02-01", "total": 2, "hits": 1}]
    assert {"gate": "development", "word": "billing", "count": 1} in data["rejection_words"]
    assert data["approvers"][0]["approver"] == "manager"


def test_the_train_type_filter_applies(api_as, manager, history):  # noqa: F811
    data = api_as(manager).get("/api/v1/metrics/", train_type="emergency", **QUERY).json()
    assert data["emergency_share"] == [{"month": "2025-02-01", "total": 1, "hits": 1}]


def test_bad_period_is_a_400_with_the_reason(api_as, manager):
    response = api_as(manager).get("/api/v1/metrics/", first="2025-03-01", last="2025-01-01")
    assert response.status_code == 400
    assert "end on or after" in response.json()["detail"]


def test_stakeholders_get_no_metrics(api_as, stakeholder):
    assert api_as(stakeholder).get("/api/v1/metrics/").status_code == 403
