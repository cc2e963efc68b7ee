"""/api/v1/freeze-windows/"""

import pytest

from trains.models import FreezeWindow

pytestmark = pytest.mark.django_db


def test_freeze_windows_through_the_api(api_as, manager, owner):
    api = api_as(manager)
    made = api.post(
        "/api/v1/freeze-windows/",
        {"name": "Year-end freeze", "start": "2027-12-20", "end": "2028-01-03", "reason": "Peak"},
    )
    assert made.status_code == 201, made.json()
    pk = made.json()["id"]
    assert (
        api.post(
            "/api/v1/freeze-windows/", {"name": "Bad", "start": "2027-12-20", "end": "2027-12-01"}
        ).status_code
        == 400
    )
    assert api_as(owner).get("/api/v1/freeze-windows/").json()[0]["name"] == "Year-end freeze"
    assert (
        api_as(owner)
        .post("/api/v1/freeze-windows/", {"name": "X", "start": "2027-01-01", "end": "2027-01-02"})
        .status_code
        == 403
    )
    changed = api.patch(f"/api/v1/freeze-windows/{pk}/", {"end": "2028-01-05"})
    assert changed.status_code == 200 and changed.json()["end"] == "2028-01-05"
    assert api.client.delete(f"/api/v1/freeze-windows/{pk}/", {}, format="json").status_code == 400
    gone = api.client.delete(
        f"/api/v1/freeze-windows/{pk}/", {"reason": "Cancelled"}, format="json"
    )
    assert gone.status_code == 204 and not FreezeWindow.objects.exists()
    assert api.get(f"/api/v1/freeze-windows/{pk}/").status_code == 404
