"""`/healthz` for load balancers and container health checks.

200 when the database answers a query and the Celery broker answers a ping; 503
otherwise, within 2 s whatever hangs, with a JSON body giving each check's status:

    {"status": "degraded", "checks": {"database": "ok", "broker": "degraded"}}

A broker that is away leaves the site "degraded", not dead: pages and actions go on (no
request waits on the broker, releasemgr/broker.py) and the work it would carry waits in
the database. Only a failed database makes the site "failed". It never waits for a Celery
worker: a probe must be cheap, and a busy worker is not a reason to take a web process
out of rotation.

It is answered by a middleware placed before the HTTPS redirect, because probes speak
plain HTTP. It honours ALLOWED_HOSTS like every page, except for probes from
HEALTHZ_ALLOWED_NETWORKS (loopback by default: the container's own health check; add a
load balancer's network to let it probe a container's address). Anyone else gets what
any page gives an unknown Host: 400. The body holds nothing but check names and their
status.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse

from releasemgr import broker

HEALTH_PATH = "/healthz"

logger = logging.getLogger("releasemgr.health")


def check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    """A PING on a plain socket first, with broker.publish's connect and read timeouts
    (0.5 s each): a broker that accepts and never answers fails here instead of hanging
    the probe; then Celery's own connection, as the workers use it."""
    if not broker.answers():
        raise ConnectionError("the broker did not answer a PING")
    with broker.connection() as connection:
        connection.ensure_connection(max_retries=0, timeout=settings.BROKER_PUBLISH_TIMEOUT)
        client = getattr(connection.default_channel, "client", None)
        if client is not None:  # Redis; the filesystem and memory brokers have no server
            client.ping()


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
}
# What the site still does without each: without the database, nothing.
FAILS_AS = {"database": "failed", "broker": "degraded"}


def health_status() -> tuple[str, dict[str, str]]:
    """The site's status ("ok", "degraded", "failed") and each check's."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:  # any failure means "not healthy", whatever raised it
            results[name] = FAILS_AS.get(name, "failed")
            logger.warning("check=%s status=%s error=%r", name, results[name], str(error))
        else:
            results[name] = "ok"
    statuses = set(results.values())
    status = next((s for s in ("failed", "degraded") if s in statuses), "ok")
    return status, results


def healthz(request: HttpRequest) -> HttpResponse:
    status, checks = health_status()
    response = JsonResponse(
        {"status": status, "checks": checks}, status=200 if status == "ok" else 503
    )
    response["Cache-Control"] = "no-store"
    return response


def may_probe(request: HttpRequest) -> bool:
    """A Host from ALLOWED_HOSTS, or a client in HEALTHZ_ALLOWED_NETWORKS."""
    try:
        request.get_host()
        return True
    except DisallowedHost:
        pass
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        client in ipaddress.ip_network(network, strict=False)
        for network in settings.HEALTHZ_ALLOWED_NETWORKS
    )


class HealthCheckMiddleware:
    """Answer `/healthz` before the HTTPS redirect, to allowed hosts and networks."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.path_info == HEALTH_PATH
            and request.method in ("GET", "HEAD")
            and may_probe(request)
        ):
            return healthz(request)
        return self.get_response(request)
