"""The e-mail's decision links through the API: /api/v1/decision-links/<token>/."""

import pytest

from tests.trains.test_decision_links import gate  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def test_the_api_reads_and_uses_a_link_as_its_approver(api_as, gate, people):  # noqa: F811
    train, _exe, links = gate
    token = links["Reject"].split("/")[-2]
    url = f"/api/v1/decision-links/{token}/"
    assert api_as(people["manager"]).get(url).status_code == 403
    seen = api_as(people["executive"]).get(url)
    assert seen.status_code == 200
    assert seen.json()["approve"] is False and seen.json()["train"]["id"] == train.pk
    api = api_as(people["executive"])
    assert api.post(url, {"comment": ""}).status_code == 400
    done = api.post(url, {"comment": "Rollback plan missing"})
    assert done.status_code == 201 and done.json()["train_state"] == "verification"
    again = api.post(url, {"comment": "again"})
    assert again.status_code == 410 and again.json()["title"] == "This link was already used"
    assert api.get("/api/v1/decision-links/forged/").status_code == 400
