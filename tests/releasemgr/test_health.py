"""`/healthz`: 200 when the database and the broker answer, 503 naming what failed."""

import pytest

from releasemgr import health
from releasemgr.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthy_answers_200_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert response["Cache-Control"] == "no-store"


def test_head_is_answered_too(client):
    assert client.head("/healthz").status_code == 200


def test_broker_unreachable_answers_503_naming_the_broker(client, monkeypatch):
    # Celery reads CELERY_BROKER_URL from the environment first. Nothing listens on
    # port 1; the check must fail fast rather than hang.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    assert celery_app.conf.broker_write_url == "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "broker": "degraded"},
    }


def test_database_unreachable_answers_503_naming_the_database(client, monkeypatch):
    def unreachable():
        raise health.connections["default"].Database.OperationalError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "failed", "checks": {"database": "failed", "broker": "ok"}}


def test_probes_by_ip_and_plain_http_are_answered(client, settings):
    """The container's own check probes its address over HTTP from loopback (the test
    client's REMOTE_ADDR): no DisallowedHost, no redirect."""
    settings.ALLOWED_HOSTS = ["releases.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert client.get("/accounts/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400


def test_an_unknown_host_from_outside_is_refused_like_any_page(client, settings):
    settings.ALLOWED_HOSTS = ["releases.example.com"]
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/healthz", HTTP_HOST="evil.example", **outside).status_code == 400
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000", **outside).status_code == 400
    response = client.get("/healthz", HTTP_HOST="releases.example.com", **outside)
    assert response.status_code == 200


def test_a_configured_network_may_probe_by_address(client, settings):
    settings.ALLOWED_HOSTS = ["releases.example.com"]
    settings.HEALTHZ_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    balancer = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000", **balancer).status_code == 200
    loopback = {"REMOTE_ADDR": "127.0.0.1"}
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000", **loopback).status_code == 400
