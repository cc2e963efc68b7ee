"""/api/schema/ is OpenAPI 3 with the stable paths; /api/docs/ loads nothing from a CDN."""

import re

import pytest

pytestmark = pytest.mark.django_db

STABLE_PATHS = {
    "/api/v1/trains/",
    "/api/v1/trains/{id}/",
    "/api/v1/trains/{id}/events/",
    "/api/v1/trains/{id}/transitions/{name}/",
    "/api/v1/trains/{id}/criteria/",
    "/api/v1/criteria/{id}/check/",
    "/api/v1/criteria/{id}/uncheck/",
    "/api/v1/criteria/{id}/required/",
    "/api/v1/trains/{id}/approval-requirements/",
    "/api/v1/trains/{id}/decisions/",
    "/api/v1/trains/{id}/plan/",
    "/api/v1/trains/{id}/baselines/",
    "/api/v1/trains/{id}/scope-since-baseline/",
    "/api/v1/trains/{id}/health-override/",
    "/api/v1/inbox/",
    "/api/v1/applications/",
    "/api/v1/application-releases/",
    "/api/v1/application-releases/{id}/transitions/{name}/",
    "/api/v1/turnovers/",
    "/api/v1/turnovers/{id}/accept/",
    "/api/v1/turnovers/{id}/reject/",
    "/api/v1/application-releases/{id}/move/",
    "/api/v1/decision-links/{token}/",
    "/api/v1/freeze-windows/",
    "/api/v1/freeze-windows/{id}/",
    "/api/v1/trains/{id}/deployments/",
    "/api/v1/criteria/{id}/",
    "/api/v1/approval-requirements/{id}/",
    "/api/v1/trains/{id}/releases/",
    "/api/v1/trains/{id}/releases/{release_pk}/remove/",
    "/api/v1/trains/{id}/milestones/",
    "/api/v1/milestones/{id}/reach/",
    "/api/v1/trains/{id}/access/",
    "/api/v1/trains/{id}/access/{user_pk}/",
    "/api/v1/webhooks/",
    "/api/v1/webhooks/{id}/",
    "/api/v1/webhook-deliveries/{id}/redeliver/",
    "/api/v1/notification-preferences/",
    "/api/v1/notification-preferences/address/retry/",
    # templates, clones and schedules (issue 14)
    "/api/v1/templates/",
    "/api/v1/templates/{id}/",
    "/api/v1/templates/{id}/events/",
    "/api/v1/templates/{id}/trains/",
    "/api/v1/templates/{id}/schedules/",
    "/api/v1/trains/{id}/clone/",
    "/api/v1/schedules/",
    "/api/v1/schedules/{id}/",
    "/api/v1/schedules/{id}/pause/",
    "/api/v1/schedules/{id}/resume/",
    "/api/v1/schedules/{id}/run/",
    "/api/v1/metrics/",
}


def test_schema_lists_every_stable_path(client):
    schema = client.get("/api/schema/?format=json").json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == STABLE_PATHS
    assert "bearerAuth" in schema["components"]["securitySchemes"]


def test_docs_are_served_from_our_own_static_files(client):
    page = client.get("/api/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith(("/", "#")) and not s.startswith("//") for s in sources)
    scripts = re.findall(r'src="([^"]+)"', page)
    assert scripts and all(s.startswith(("/static/", "/api/")) for s in scripts)
    assert "swagger-ui" in page


def test_unknown_api_path_is_a_json_404(client):
    response = client.post("/api/v1/nothing/here/")
    assert response.status_code == 404
    assert "detail" in response.json()
