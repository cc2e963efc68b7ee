"""Handing work to Celery from a web request without ever waiting on the broker.

What a request hands over is already kept in PostgreSQL (the history row a webhook
follows, a delivery due now, the notification outbox), and a beat sweep sends what was
not handed over. So publishing is a shortcut, never a duty, and `publish(task, *args)`:

- in a request, runs after the response has been sent (Django's `request_finished`,
  which the WSGI server fires once the body is written): the person never waits;
- tries once (no retry loop), with a connect and a read timeout of
  BROKER_PUBLISH_TIMEOUT seconds (0.5): a broker that accepts and never answers costs a
  worker at most that;
- after a failure, skips publishing for BROKER_BACKOFF_SECONDS (30) in this process, so a
  broker that is away costs one timeout per process and period, not one per request;
- never raises: the sweep sends the work once the broker is back.

Outside a request (a worker task, a command) it publishes at once, with the same guard.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.dispatch import receiver

logger = logging.getLogger("releasemgr.broker")

_local = threading.local()  # .pending: the publishes a request holds until it is sent
_paused_until = 0.0  # monotonic time before which this process does not try the broker


def _timeout() -> float:
    return settings.BROKER_PUBLISH_TIMEOUT


def answers(url: str | None = None, *, timeout: float | None = None) -> bool:
    """Whether the Redis broker at `url` answers a PING within `timeout` (any answer:
    kombu deals with passwords). Other brokers (filesystem, memory) have no server."""
    from releasemgr.celery import app

    parts = urlsplit(url or app.conf.broker_write_url or "")
    if parts.scheme not in ("redis", "rediss"):
        return True
    timeout = _timeout() if timeout is None else timeout
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout
        ) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            return bool(sock.recv(64))
    except OSError:
        return False


def connection():
    """A broker connection that neither waits long to connect nor for an answer."""
    from releasemgr.celery import app

    timeout = _timeout()
    return app.connection_for_write(
        connect_timeout=timeout,
        transport_options={
            **(app.conf.broker_transport_options or {}),
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "max_retries": 0,
        },
    )


def _send(task, args: tuple, kwargs: dict) -> bool:
    global _paused_until
    eager = task.app.conf.task_always_eager  # run here and now (tests)
    if not eager and time.monotonic() < _paused_until:
        logger.info("broker=paused task=%s left=for_the_sweep", task.name)
        return False
    started = time.monotonic()
    try:
        if eager:
            task.apply_async(args, kwargs)
            return True
        if not answers():
            raise ConnectionError("the broker did not answer a PING")
        with connection() as conn:
            conn.ensure_connection(max_retries=0, timeout=_timeout())
            task.apply_async(args, kwargs, connection=conn, retry=False)
    except Exception as error:  # any broker failure: the sweep has it; never the caller's
        _paused_until = time.monotonic() + settings.BROKER_BACKOFF_SECONDS
        logger.warning(
            "broker=failed task=%s error=%r waited_ms=%.0f left=for_the_sweep",
            task.name,
            str(error),
            (time.monotonic() - started) * 1000,
        )
        return False
    return True


def publish(task, *args: Any, **kwargs: Any) -> None:
    """Send `task(*args, **kwargs)` to a worker soon, if the broker takes it."""
    pending = getattr(_local, "pending", None)
    if pending is None:
        _send(task, args, kwargs)
    else:
        pending.append((task, args, kwargs))


@receiver(request_started, dispatch_uid="releasemgr.broker.hold")
def _hold(**kwargs: Any) -> None:
    _local.pending = []


@receiver(request_finished, dispatch_uid="releasemgr.broker.flush")
def _flush(**kwargs: Any) -> None:
    pending, _local.pending = getattr(_local, "pending", None) or [], None
    for task, args, kwargs_ in pending:
        _send(task, args, kwargs_)


def reset() -> None:
    """Forget a pause (tests; a process that knows the broker is back)."""
    global _paused_until
    _paused_until = 0.0
