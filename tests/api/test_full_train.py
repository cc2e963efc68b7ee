"""A train from creation to closed through the API alone: HTTP and tokens, no services."""

from datetime import timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def test_a_train_runs_from_creation_to_closed_through_the_api(
    api_as, manager, owner, qa, executive, engineer
):
    m, o, q, x, e = (api_as(u) for u in (manager, owner, qa, executive, engineer))
    start = timezone.localdate()
    day = lambda n: (start + timedelta(days=n)).isoformat()  # noqa: E731

    train = ok(
        m.post(
            "/api/v1/trains/",
            {
                "name": "2027.03 API train",
                "type": "minor",
                "start_date": day(0),
                "end_date": day(40),
                "phase_ends": {
                    "scoping": day(7),
                    "construction": day(14),
                    "verification": day(21),
                    "deployment": day(28),
                },
            },
        ),
        201,
    )
    tid = train["id"]
    assert train["state"] == "scoping"
    base = f"/api/v1/trains/{tid}"

    ok(m.post(f"{base}/approval-requirements/", {"gate": "development", "user": manager.pk}), 201)
    executives = ok(
        m.post(
            f"{base}/approval-requirements/",
            {"gate": "executive", "group": "executives", "required_approvals": 1},
        ),
        201,
    )
    app = ok(o.post("/api/v1/applications/", {"name": "Billing"}), 201)
    release = ok(
        m.post(
            "/api/v1/application-releases/",
            {"application": app["id"], "version": "2.0.0", "train": tid},
        ),
        201,
    )
    assert release["train"] == tid

    ok(m.post(f"{base}/transitions/start_construction/"))
    rel = f"/api/v1/application-releases/{release['id']}/transitions"
    ok(o.post(f"{rel}/start_development/"))
    ok(o.post(f"{rel}/complete_development/"))
    assert ok(m.get(f"{base}/"))["state"] == "development_approval"

    inbox = ok(m.get("/api/v1/inbox/"))["results"]
    assert [i["train"]["id"] for i in inbox] == [tid]
    decision = ok(
        m.post(f"{base}/decisions/", {"requirement": inbox[0]["requirement"], "approve": True}),
        201,
    )
    assert decision["train_state"] == "verification"

    qa_check = next(c for c in ok(q.get(f"{base}/criteria/")) if c["phase"] == "verification")
    assert ok(q.post(f"/api/v1/criteria/{qa_check['id']}/check/"))["met"] is True
    ok(m.post(f"{base}/transitions/request_executive_approval/"))

    decision = ok(
        x.post(
            f"{base}/decisions/",
            {"requirement": executives["id"], "approve": True, "comment": "Go"},
        ),
        201,
    )
    assert decision["train_state"] == "deployment"

    turnover = ok(
        o.post("/api/v1/turnovers/", {"release": release["id"], "description": "Artefacts"}), 201
    )
    ok(e.post(f"/api/v1/turnovers/{turnover['id']}/accept/"))
    failed = ok(e.post(f"{base}/deployments/", {"succeeded": False, "log": "DB timeout"}), 201)
    assert failed["train_state"] == "deployment"
    done = ok(e.post(f"{base}/deployments/", {"succeeded": True, "log": "OK"}), 201)
    assert done["train_state"] == "closed"

    events = ok(m.get(f"{base}/events/"))["results"]
    path = [ev["transition"] for ev in reversed(events) if ev["kind"] == "transition"]
    assert path == [
        "start_construction",
        "request_development_approval",
        "approve_development",
        "request_executive_approval",
        "approve_executive",
        "deploy",
        "deploy",
    ]
