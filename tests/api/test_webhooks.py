"""Webhooks: derived from the history, signed, delivered to a real HTTP server on
127.0.0.1, retried with backoff, and limited to what the subscriber may see."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from api import services as api_services
from api import tasks, webhooks
from api.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from releasemgr.exceptions import NotAllowed
from tests.factories import drive, fresh, make_train
from trains import services

pytestmark = pytest.mark.django_db


class Receiver:
    """What the test server got, and the statuses it answers with (200 when empty)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.url = ""

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]


@pytest.fixture
def receiver():
    received = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = received.statuses.pop(0) if received.statuses else 200
            self.send_response(status)
            if status in (301, 302):
                self.send_header("Location", received.url + "/moved")
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(f"answer {status}".encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    received.url = f"http://127.0.0.1:{server.server_port}/hook"
    yield received
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def hook(webhook_settings, receiver, manager):
    """A release manager's webhook for every event kind, pointing at the test server."""
    return api_services.subscription_create(
        by=manager,
        url=receiver.url,
        events=[
            "train.transitioned",
            "approval.decided",
            "deployment.recorded",
            "application_release.transitioned",
        ],
    )


# which URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/",
        "http:///nohost",
    ],
)
def test_refuses_non_http_and_private_addresses(settings, url):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(ValidationError) as error:
        webhooks.check_url(url)
    assert "url" in error.value.message_dict


def test_allows_public_addresses_and_explicitly_allowed_networks(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    webhooks.check_url("https://93.184.216.34/hook")  # an IP literal: no lookup needed
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    webhooks.check_url("http://127.0.0.1:9/hook")


def test_only_release_managers_subscribe(webhook_settings, receiver, qa, manager, other_manager):
    with pytest.raises(NotAllowed):
        api_services.subscription_create(by=qa, url=receiver.url, events=["train.transitioned"])
    hidden = make_train(other_manager)
    with pytest.raises(ValidationError) as error:
        api_services.subscription_create(
            by=manager, url=receiver.url, events=["nope"], train=hidden
        )
    assert set(error.value.message_dict) == {"events", "train"}


# delivery -----------------------------------------------------------------------------


def test_delivery_is_signed_and_carries_its_id(
    hook, receiver, manager, django_capture_on_commit_callbacks
):
    train = make_train(manager)
    with django_capture_on_commit_callbacks(execute=True):
        services.train_transition(train=train, name="cancel", by=manager, reason="Budget")
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    expected = "sha256=" + hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-releasemgr-signature"], expected)
    payload = json.loads(body)
    assert headers["x-releasemgr-delivery"] == payload["id"]
    assert headers["x-releasemgr-event"] == payload["event"] == "train.transitioned"
    assert payload["train"]["id"] == train.pk
    assert payload["actor"]["username"] == "manager"
    assert payload["data"] == {
        "transition": "cancel",
        "from_state": "scoping",
        "to_state": "cancelled",
        "reason": "Budget",
    }
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    attempt = delivery.attempt_log.get()
    assert attempt.status_code == 200 and attempt.response_excerpt == "answer 200"


def test_a_500_is_retried_with_backoff_with_the_same_id_and_signature(
    hook, receiver, manager, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.WEBHOOK_RETRY_DELAYS = [60, 300]
    receiver.statuses = [500]
    train = make_train(manager)
    with django_capture_on_commit_callbacks(execute=True):
        services.train_transition(train=train, name="cancel", by=manager, reason="Budget")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=50) < wait <= timedelta(seconds=60)

    tasks.webhooks_sweep()  # not due yet: nothing is sent
    assert len(receiver.requests) == 1

    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    tasks.webhooks_sweep()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    (h1, b1), (h2, b2) = receiver.requests
    assert b1 == b2
    assert h1["x-releasemgr-delivery"] == h2["x-releasemgr-delivery"]
    assert h1["x-releasemgr-signature"] == h2["x-releasemgr-signature"]
    codes = list(delivery.attempt_log.order_by("number").values_list("status_code", flat=True))
    assert codes == [500, 200]


def test_gives_up_after_the_last_retry(hook, receiver, manager, webhook_settings):
    webhook_settings.WEBHOOK_RETRY_DELAYS = [0, 0]
    receiver.statuses = [500, 502, 503, 500]
    train = make_train(manager)
    services.train_transition(train=train, name="cancel", by=manager, reason="Budget")
    for _ in range(4):
        tasks.webhooks_sweep()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert len(receiver.requests) == 3


def test_redirects_are_not_followed(hook, receiver, manager):
    receiver.statuses = [302]
    train = make_train(manager)
    services.train_transition(train=train, name="cancel", by=manager, reason="Budget")
    tasks.webhooks_sweep()
    assert len(receiver.requests) == 1
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 302 and not attempt.succeeded


def test_address_is_checked_again_before_each_request(hook, receiver, manager, webhook_settings):
    train = make_train(manager)
    services.train_transition(train=train, name="cancel", by=manager, reason="Budget")
    webhook_settings.WEBHOOK_ALLOWED_NETWORKS = []
    tasks.webhooks_sweep()
    assert receiver.requests == []
    assert "private address" in WebhookAttempt.objects.get().error


def test_sweep_catches_events_whose_trigger_was_lost(hook, receiver, manager):
    train = make_train(manager)
    services.train_transition(train=train, name="cancel", by=manager, reason="Budget")
    assert receiver.requests == []  # on_commit never ran inside the test transaction
    tasks.webhooks_sweep()
    tasks.webhooks_sweep()  # idempotent
    assert [b["event"] for b in receiver.bodies()] == ["train.transitioned"]


def test_every_event_kind_over_a_whole_train(
    hook, receiver, manager, owner, qa, executive, engineer
):
    drive(
        make_train(manager),
        "closed",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
        releases=1,
    )
    tasks.webhooks_sweep()
    kinds = [b["event"] for b in receiver.bodies()]
    assert kinds.count("approval.decided") == 2
    assert kinds.count("application_release.transitioned") == 2
    assert kinds.count("train.transitioned") == 6
    deployed = [b for b in receiver.bodies() if b["event"] == "deployment.recorded"]
    assert len(deployed) == 1 and deployed[0]["data"]["succeeded"] is True
    assert deployed[0]["data"]["deployment"] is not None


def test_no_events_of_trains_the_subscriber_may_not_see(hook, receiver, other_manager, manager):
    hidden = make_train(other_manager)
    services.train_transition(train=hidden, name="cancel", by=other_manager, reason="x")
    tasks.webhooks_sweep()
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_train_filter_and_paused_subscriptions(webhook_settings, receiver, manager):
    one, two = make_train(manager), make_train(manager)
    sub = api_services.subscription_create(
        by=manager, url=receiver.url, events=["train.transitioned"], train=one
    )
    services.train_transition(train=two, name="cancel", by=manager, reason="x")
    tasks.webhooks_sweep()
    assert receiver.requests == []
    api_services.subscription_set_active(subscription=sub, by=manager, active=False)
    services.train_transition(train=one, name="cancel", by=manager, reason="x")
    tasks.webhooks_sweep()
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_no_broker_message_without_subscriptions(
    manager, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(tasks.webhooks_fan_out, "apply_async", lambda *a, **k: sent.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        make_train(manager)
    assert sent == []
    assert not WebhookSubscription.objects.exists()


def test_a_broker_failure_does_not_fail_the_change(
    webhook_settings, receiver, manager, django_capture_on_commit_callbacks, monkeypatch
):
    api_services.subscription_create(by=manager, url=receiver.url, events=["train.transitioned"])

    def broken(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.webhooks_fan_out, "apply_async", broken)
    train = make_train(manager)
    with django_capture_on_commit_callbacks(execute=True):
        services.train_transition(train=train, name="cancel", by=manager, reason="x")
    assert fresh(train).state == "cancelled"


# pages --------------------------------------------------------------------------------


def test_webhook_pages_for_release_managers_only(client, qa):
    client.force_login(qa)
    assert client.get("/webhooks/").status_code == 403


def test_manager_creates_a_webhook_and_sees_its_deliveries(
    client, webhook_settings, receiver, manager
):
    client.force_login(manager)
    assert client.get("/webhooks/").status_code == 200
    response = client.post("/webhooks/", {"url": receiver.url, "events": ["train.transitioned"]})
    sub = WebhookSubscription.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/webhooks/{sub.pk}/"
    receiver.statuses = [500]
    train = make_train(manager)
    services.train_transition(train=train, name="cancel", by=manager, reason="x")
    tasks.webhooks_sweep()
    page = client.get(f"/webhooks/{sub.pk}/").content.decode()
    assert sub.secret in page and "answer 500" in page and "Pending" in page
    delivery = WebhookDelivery.objects.get()
    assert client.post(f"/webhooks/deliveries/{delivery.pk}/redeliver/").status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_bad_webhook_form_shows_errors(client, settings, manager):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    client.force_login(manager)
    response = client.post("/webhooks/", {"url": "http://127.0.0.1/x", "events": []})
    assert response.status_code == 200
    assert not WebhookSubscription.objects.exists()
    response = client.post(
        "/webhooks/", {"url": "http://127.0.0.1/x", "events": ["train.transitioned"]}
    )
    assert "private address" in response.content.decode()


def test_someone_elses_webhook_is_404(client, webhook_settings, receiver, manager, other_manager):
    sub = api_services.subscription_create(
        by=manager, url=receiver.url, events=["approval.decided"]
    )
    client.force_login(other_manager)
    assert client.get(f"/webhooks/{sub.pk}/").status_code == 404
    assert client.post(f"/webhooks/{sub.pk}/delete/").status_code == 404
    client.force_login(manager)
    assert client.post(f"/webhooks/{sub.pk}/active/", {"active": "0"}).status_code == 302
    assert WebhookSubscription.objects.get().active is False
    assert client.post(f"/webhooks/{sub.pk}/delete/").status_code == 302
    assert not WebhookSubscription.objects.exists()
