"""Logs an operator can grep: one line per record, `key=value` (or JSON), to stdout.

Web requests get one line each from `RequestLogMiddleware`:

    ts=2026-11-26T09:14:03.120Z level=INFO logger=releasemgr.request msg=request
    method=POST path=/trains/7/start_construction/ status=302 duration_ms=41.2

(on one line). Errors carry the traceback: after the line in `text` format, in an `exc`
field in `json` format. This module is imported by gunicorn's config before Django
starts, so it must not touch Django settings at import time.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

request_logger = logging.getLogger("releasemgr.request")


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = {
        "ts": _timestamp(record),
        "level": record.levelname,
        "logger": record.name,
        "msg": record.getMessage(),
    }
    fields.update(getattr(record, "fields", {}))
    return fields


def _quote(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\n\t'):
        return json.dumps(text)
    return text


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = " ".join(f"{key}={_quote(value)}" for key, value in _fields(record).items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        elif record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        return json.dumps(fields, default=str)


FORMATTERS = {"text": KeyValueFormatter, "json": JsonFormatter}


class ClientErrorsWithoutTraceback(logging.Filter):
    """A 4xx is the client's doing: Django logs it with the PermissionDenied or Http404
    behind it, and the line says all there is. Server errors keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = record.exc_text = None
        return True


def logging_config(*, level: str = "INFO", fmt: str = "text") -> dict[str, Any]:
    """A dictConfig sending everything to stdout, shared by Django and gunicorn."""
    if fmt not in FORMATTERS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATTERS)}, not {fmt!r}.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": f"{__name__}.{FORMATTERS[fmt].__name__}"}},
        "filters": {"client_errors": {"()": f"{__name__}.ClientErrorsWithoutTraceback"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "default",
                "filters": ["client_errors"],
            }
        },
        # Django's own console handler (DEBUG only) would print each warning a second
        # time, unformatted: its records go to the root's handler like everyone's.
        "loggers": {"django": {"handlers": [], "propagate": True}},
        "root": {"handlers": ["stdout"], "level": level},
    }


class RequestLogMiddleware:
    """One line per request: method, path, status, duration.

    Successful health probes are left out: a load balancer asks every few seconds and
    those lines would drown the rest. A failing probe is logged.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        if request.path_info == "/healthz" and response.status_code == 200:
            return response
        request_logger.info(
            "request",
            extra={
                "fields": {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": f"{duration_ms:.1f}",
                }
            },
        )
        return response
