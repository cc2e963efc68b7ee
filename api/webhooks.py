"""Webhook plumbing without the database: which URLs may be called, how a body is
signed, and one HTTP POST that never follows redirects."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

SIGNATURE_HEADER = "X-Releasemgr-Signature"
DELIVERY_HEADER = "X-Releasemgr-Delivery"
EVENT_HEADER = "X-Releasemgr-Event"
EXCERPT_CHARS = 1000


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n, strict=False) for n in settings.WEBHOOK_ALLOWED_NETWORKS]


def check_url(url: str) -> None:
    """Refuse what is not http(s) or resolves to a loopback, private, link-local or
    otherwise non-public address, unless settings.WEBHOOK_ALLOWED_NETWORKS lets it in.

    Checked when a subscription is saved and again before every request (the name may
    resolve differently by then).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValidationError({"url": "Only http:// and https:// URLs can receive webhooks."})
    host = parts.hostname
    if not host:
        raise ValidationError({"url": "The URL has no host name."})
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        raise ValidationError({"url": f"The host {host!r} cannot be resolved."}) from None
    allowed = _allowed_networks()
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if any(address in network for network in allowed):
            continue
        if not address.is_global or address.is_multicast:
            raise ValidationError(
                {
                    "url": f"{host} resolves to {address}, a loopback or private address; "
                    "webhooks go only to public addresses."
                }
            )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is reported as the answer, never followed


_opener = urllib.request.build_opener(_NoRedirects())


@dataclass(frozen=True)
class Response:
    status_code: int | None
    excerpt: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: bytes, headers: dict[str, str]) -> Response:
    """POST the body; whatever happens comes back as a Response, never an exception."""
    started = time.monotonic()

    def done(status: int | None, excerpt: bytes = b"", error: str = "") -> Response:
        return Response(
            status_code=status,
            excerpt=excerpt.decode("utf-8", "replace")[:EXCERPT_CHARS],
            error=error[:300],
            duration_ms=int((time.monotonic() - started) * 1000),
        )

    try:
        check_url(url)
    except ValidationError as error:
        return done(None, error=error.message_dict["url"][0])
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT) as answer:
            return done(answer.status, answer.read(EXCERPT_CHARS))
    except urllib.error.HTTPError as answer:
        return done(answer.code, answer.read(EXCERPT_CHARS) if answer.fp else b"")
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return done(None, error=f"{type(error).__name__}: {reason}")
