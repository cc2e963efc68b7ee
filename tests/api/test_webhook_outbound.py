"""A webhook's address is resolved once, checked, and the request goes to that checked
address — with the URL's host name in the Host header and as the TLS server name — so a
name that resolves elsewhere a moment later (DNS rebinding) cannot redirect it; redirects
are never followed.

Real HTTP(S) servers listen on 127.0.0.1 (the "public" receiver, let in through
WEBHOOK_ALLOWED_NETWORKS) and 127.0.0.2 (an "internal" service on the same port that must
never be reached), and a resolver answers `hooks.test` differently on each lookup.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api import services as api_services
from api import tasks, webhooks
from api.models import WebhookAttempt
from tests.factories import make_train
from trains import services

HOST = "hooks.test"
PUBLIC, INTERNAL = "127.0.0.1", "127.0.0.2"


class Server:
    """An HTTP(S) server on one address that records what reaches it."""

    def __init__(self, address: str, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[dict] = []
        self.names: list[str | None] = []  # TLS server names (SNI) offered by clients
        self.answer = (200, {})
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.requests.append(
                    {"path": self.path, "host": self.headers["Host"], "body": body}
                )
                status, headers = server.answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((address, port), Handler)
        if tls is not None:
            tls.sni_callback = lambda sock, name, context: self.names.append(name)
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,))
        self.thread.daemon = True
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class FlippingResolver:
    """socket.getaddrinfo that answers HOST with each address in turn (then the last)."""

    def __init__(self, monkeypatch, *answers: str) -> None:
        self.answers = list(answers)
        self.lookups = 0
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host != HOST:
                return real(host, port, *args, **kwargs)
            address = self.answers[min(self.lookups, len(self.answers) - 1)]
            self.lookups += 1
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def outbound(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = [f"{PUBLIC}/32"]  # 127.0.0.2 stays refused
    settings.WEBHOOK_TIMEOUT = 5
    return settings


@pytest.fixture
def servers():
    """The receiver on 127.0.0.1 and an internal service on 127.0.0.2, same port."""
    public = Server(PUBLIC)
    try:
        internal = Server(INTERNAL, public.port)
    except OSError as error:
        public.close()
        pytest.skip(f"cannot listen on {INTERNAL}: {error}")
    yield public, internal
    public.close()
    internal.close()


def _post(url: str) -> webhooks.Response:
    return webhooks.post(url, b'{"event": "x"}', {"Content-Type": "application/json"})


def test_the_request_goes_to_the_address_that_was_checked(outbound, servers, monkeypatch):
    public, internal = servers
    resolver = FlippingResolver(monkeypatch, PUBLIC, INTERNAL)
    answer = _post(f"http://{HOST}:{public.port}/hook?x=1")
    assert answer.ok, answer.error
    assert resolver.lookups == 1  # resolved once: checked and used
    assert [(r["path"], r["host"]) for r in public.requests] == [
        ("/hook?x=1", f"{HOST}:{public.port}")
    ]
    assert internal.requests == []
    # The name now points inside: the next request is refused before anything is sent.
    answer = _post(f"http://{HOST}:{public.port}/hook")
    assert answer.status_code is None and f"resolves to {INTERNAL}" in answer.error
    assert internal.requests == [] and len(public.requests) == 1


def test_a_rebinding_name_never_reaches_the_internal_service_through_a_delivery(
    outbound, servers, monkeypatch, manager
):
    public, internal = servers
    outbound.CELERY_TASK_ALWAYS_EAGER = True
    # Checked when saved: the name pointed at the receiver then.
    resolver = FlippingResolver(monkeypatch, PUBLIC, INTERNAL)
    api_services.subscription_create(
        by=manager, url=f"http://{HOST}:{public.port}/hook", events=["train.transitioned"]
    )
    services.train_transition(train=make_train(manager), name="cancel", by=manager, reason="x")
    tasks.webhooks_sweep()
    assert resolver.lookups == 2
    assert public.requests == [] and internal.requests == []
    assert f"resolves to {INTERNAL}" in WebhookAttempt.objects.get().error


def test_the_first_answer_refused_means_nothing_is_sent(outbound, servers, monkeypatch):
    public, internal = servers
    FlippingResolver(monkeypatch, INTERNAL, PUBLIC)
    answer = _post(f"http://{HOST}:{public.port}/hook")
    assert answer.status_code is None and "private address" in answer.error
    assert public.requests == [] and internal.requests == []


def test_a_redirect_to_another_host_is_not_followed(outbound, servers, monkeypatch):
    public, internal = servers
    FlippingResolver(monkeypatch, PUBLIC)
    public.answer = (307, {"Location": f"http://{INTERNAL}:{internal.port}/admin"})
    answer = _post(f"http://{HOST}:{public.port}/hook")
    assert answer.status_code == 307 and not answer.ok
    assert len(public.requests) == 1 and internal.requests == []


# TLS -----------------------------------------------------------------------------------


def _certificate(tmp_path, name: str) -> tuple[str, str]:
    """A self-signed certificate for `name`, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    # OpenSSL checks validity against the machine's clock, which FREEZE_TODAY does not move
    hatch = time_machine.escape_hatch
    now = datetime.datetime.fromtimestamp(
        hatch.time.time() if hatch.is_travelling() else time.time(), datetime.UTC
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """An HTTPS receiver on 127.0.0.1 whose certificate names `name`; the client trusts
    that certificate through SSL_CERT_FILE, as it would a public CA's."""
    made: list[Server] = []

    def start(name: str) -> Server:
        cert, key = _certificate(tmp_path, name)
        monkeypatch.setenv("SSL_CERT_FILE", cert)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server = Server(PUBLIC, tls=context)
        made.append(server)
        return server

    yield start
    for server in made:
        server.close()


def test_https_connects_to_the_checked_address_with_the_host_name_as_tls_name(
    outbound, tls_server, monkeypatch
):
    server = tls_server(HOST)
    resolver = FlippingResolver(monkeypatch, PUBLIC, INTERNAL)
    answer = _post(f"https://{HOST}:{server.port}/hook")
    assert answer.ok, answer.error
    assert resolver.lookups == 1
    assert server.names == [HOST]  # SNI: the URL's name, not the address
    assert server.requests[0]["host"] == f"{HOST}:{server.port}"


def test_https_refuses_a_certificate_for_another_name(outbound, tls_server, monkeypatch):
    server = tls_server("someone-else.test")
    FlippingResolver(monkeypatch, PUBLIC)
    answer = _post(f"https://{HOST}:{server.port}/hook")
    assert answer.status_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in answer.error or "certificate" in answer.error
    assert server.requests == []
