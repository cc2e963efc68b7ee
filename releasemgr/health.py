"""`/healthz` for load balancers and container health checks.

200 when the database answers a query and the Celery broker accepts a connection, 503
otherwise, with a JSON body naming the failed check. It never waits for a Celery worker:
a probe must be cheap, and a busy worker is not a reason to take a web process out of
rotation.

It is answered by a middleware placed before host validation and the HTTPS redirect,
because probes speak plain HTTP to an address (a container IP) that is not in
ALLOWED_HOSTS. The body holds nothing but check names and "ok"/"failed".
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse

from releasemgr.celery import app as celery_app

HEALTH_PATH = "/healthz"
BROKER_TIMEOUT = 2  # seconds; a probe that hangs is worse than one that fails

logger = logging.getLogger("releasemgr.health")


def check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    with celery_app.connection_for_write(connect_timeout=BROKER_TIMEOUT) as connection:
        connection.ensure_connection(max_retries=0)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
}


def health_status() -> tuple[bool, dict[str, str]]:
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:  # any failure means "not healthy", whatever raised it
            logger.warning("check=%s status=failed error=%r", name, str(error))
            results[name] = "failed"
        else:
            results[name] = "ok"
    return all(result == "ok" for result in results.values()), results


def healthz(request: HttpRequest) -> HttpResponse:
    healthy, checks = health_status()
    response = JsonResponse(
        {"status": "ok" if healthy else "failed", "checks": checks},
        status=200 if healthy else 503,
    )
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answer `/healthz` before anything looks at the Host header or the scheme."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)
