"""Webhook plumbing without the database: which URLs may be called, how a body is
signed, and one HTTP POST to the address that was checked, never following redirects."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
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


@dataclass(frozen=True)
class Target:
    """Where a webhook goes: the URL's parts and the addresses its host resolved to, each
    checked. Requests connect to these addresses, never to the name again."""

    scheme: str
    host: str
    port: int
    path: str  # with the query string
    addresses: tuple[str, ...]


def resolve(url: str) -> Target:
    """Resolve the URL's host once and check every address it gave: refuse what is not
    http(s) or resolves to a loopback, private, link-local or otherwise non-public address,
    unless settings.WEBHOOK_ALLOWED_NETWORKS lets it in.

    Done when a subscription is saved and before every request; the request then connects
    to the addresses checked here, so a name that resolves differently a moment later
    (DNS rebinding) cannot send it elsewhere.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValidationError({"url": "Only http:// and https:// URLs can receive webhooks."})
    host = parts.hostname
    if not host:
        raise ValidationError({"url": "The URL has no host name."})
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        raise ValidationError({"url": f"The host {host!r} cannot be resolved."}) from None
    allowed = _allowed_networks()
    addresses: list[str] = []
    for info in infos:
        text = str(info[4][0]).split("%")[0]
        address = ipaddress.ip_address(text)
        if not any(address in network for network in allowed) and (
            not address.is_global or address.is_multicast
        ):
            raise ValidationError(
                {
                    "url": f"{host} resolves to {address}, a loopback or private address; "
                    "webhooks go only to public addresses."
                }
            )
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise ValidationError({"url": f"The host {host!r} cannot be resolved."})
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, tuple(addresses))


def check_url(url: str) -> None:
    """Raise ValidationError({"url": …}) unless the URL may receive webhooks now."""
    resolve(url)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a checked address, the Host header still naming the URL's host."""

    def __init__(self, target: Target, address: str, *, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = address

    def _connect_pinned(self) -> socket.socket:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def connect(self) -> None:
        self.sock = self._connect_pinned()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """HTTPS to a checked address: the certificate is verified for the URL's host name,
    which is also the TLS server name (SNI) and the Host header."""

    default_port = 443

    def connect(self) -> None:
        # A fresh context each time: it reads the system's trusted certificates
        # (and SSL_CERT_FILE) as they are now.
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self._connect_pinned(), server_hostname=self.host)


@dataclass(frozen=True)
class Response:
    status_code: int | None
    excerpt: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _send(target: Target, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST to the first checked address that accepts a connection. Redirects are not
    followed: a 3xx is the answer."""
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    last_error: OSError | None = None
    for address in target.addresses:
        connection = kind(target, address, timeout=settings.WEBHOOK_TIMEOUT)
        try:
            try:
                connection.connect()
            except ssl.SSLError:
                raise  # the certificate is the host's, not one address's
            except OSError as error:  # refused or unreachable: the next checked address
                last_error = error
                continue
            connection.request("POST", target.path, body=body, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.read(EXCERPT_CHARS)
        finally:
            connection.close()
    raise last_error or OSError(f"{target.host} has no address to connect to")


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
        target = resolve(url)
    except ValidationError as error:
        return done(None, error=error.message_dict["url"][0])
    try:
        status, excerpt = _send(target, body, headers)
    except (http.client.HTTPException, OSError, ValueError) as error:
        return done(None, error=f"{type(error).__name__}: {error}")
    return done(status, excerpt)
