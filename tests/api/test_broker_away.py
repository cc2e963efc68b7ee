"""The broker away (refusing connections) or hanging (accepting and never answering):
pages and actions answer at their usual speed and never 500, `/healthz` says 503
"degraded" within 2 s, and what the actions queued is kept in the database and sent once
the broker is back, once each (releasemgr/broker.py)."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from django.core import mail

from api import services as api_services
from api import tasks as api_tasks
from api.models import WebhookDelivery
from releasemgr.celery import app as celery_app
from tests import numbers
from tests.api.test_webhooks import receiver  # noqa: F401 - a fixture
from tests.factories import fresh, make_train, scope
from trains import tasks as train_tasks
from trains.models import Notification, TrainEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ACTION_LIMIT = 1.0  # seconds: what each page or button may take with the broker away
HEALTH_LIMIT = 2.0


class SilentBroker:
    """A TCP listener that accepts connections and reads what it is sent, never
    answering: a broker that hangs (a stuck Redis, a half-open firewall)."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        self.connections: list[socket.socket] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _serve(self) -> None:
        self.server.settimeout(0.1)
        while self.running:
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self.connections.append(conn)
            threading.Thread(target=self._swallow, args=(conn,), daemon=True).start()

    @staticmethod
    def _swallow(conn: socket.socket) -> None:
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        for conn in self.connections:
            conn.close()
        self.server.close()


@pytest.fixture
def silent_broker():
    broker = SilentBroker()
    yield broker
    broker.close()


def _refusing_url() -> str:
    """A port nothing listens on: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture(params=["refusing", "silent"])
def broker_away(request, monkeypatch, settings):
    """take_away() makes the broker refuse or fall silent for the app's own publishing
    (Celery reads CELERY_BROKER_URL from the environment first)."""
    if request.param == "refusing":
        url = _refusing_url()
    else:
        url = request.getfixturevalue("silent_broker").url

    def take_away() -> str:
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        settings.CELERY_TASK_ALWAYS_EAGER = False
        assert celery_app.conf.broker_write_url == url
        return request.param

    return take_away


def _timed(call):
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def test_pages_and_buttons_answer_at_once_and_the_work_goes_out_once_the_broker_is_back(
    broker_away,
    client,
    settings,
    receiver,  # noqa: F811 - the fixture imported above
    manager,
    owner,
    executive,
    monkeypatch,
):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_TIMEOUT = 5
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    subscription = api_services.subscription_create(
        by=manager, url=receiver.url, events=["train.transitioned"]
    )
    events_before = TrainEvent.objects.count()
    client.force_login(manager)

    def made(label: str) -> list:
        trains = [make_train(manager, name=f"{label} {n}") for n in range(3)]
        scope(trains[0], manager=manager, owner=owner)
        return trains

    def actions(trains: list) -> dict[str, float]:
        steps = {
            "trains list": lambda: client.get("/trains/"),
            "train page": lambda: client.get(f"/trains/{trains[0].pk}/"),
            "start construction": lambda: client.post(
                f"/trains/{trains[0].pk}/start_construction/"
            ),
            "cancel": lambda: client.post(f"/trains/{trains[1].pk}/cancel/", {"reason": "Away"}),
            "cancel again (paused)": lambda: client.post(
                f"/trains/{trains[2].pk}/cancel/", {"reason": "Away too"}
            ),
            "webhook page": lambda: client.get(f"/webhooks/{subscription.pk}/"),
        }
        timings = {}
        for name, step in steps.items():
            response, timings[name] = _timed(step)
            assert response.status_code in (200, 302), (name, response.status_code)
        assert fresh(trains[0]).state == "construction"
        assert fresh(trains[1]).state == fresh(trains[2]).state == "cancelled"
        return timings

    # The usual speed: the same pages and steps with no webhook to hand to the broker
    # (the first run also compiles the templates).
    api_services.subscription_set_active(subscription=subscription, by=manager, active=False)
    actions(made("Warm"))
    usual = actions(made("Usual"))
    api_services.subscription_set_active(subscription=subscription, by=manager, active=True)
    away = made("Away")  # while the broker is there: the first failure is a request's
    broker_away = broker_away()
    timings = actions(away)

    # A delivery to redeliver: the sweep cannot run without the broker, so make one.
    api_services.deliveries_create(event_ids=[TrainEvent.objects.latest("pk").pk])
    delivery = WebhookDelivery.objects.get()
    response, timings["redeliver"] = _timed(
        lambda: client.post(f"/webhooks/deliveries/{delivery.pk}/redeliver/")
    )
    assert response.status_code == 302

    response, timings["healthz"] = _timed(lambda: client.get("/healthz"))
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "broker": "degraded"},
    }
    assert timings["healthz"] < HEALTH_LIMIT, timings
    # Under 1 s, or (on a machine too busy for that) no slower than usual by more than
    # one broker timeout: the broker is never waited on for longer.
    margin = settings.BROKER_PUBLISH_TIMEOUT + 0.25
    slow = {
        n: (round(s, 3), round(usual[n], 3))
        for n, s in timings.items()
        if n in usual and s >= max(ACTION_LIMIT, usual[n] + margin)
    }
    assert not slow, slow
    for name, seconds in timings.items():
        numbers.add(f"broker {broker_away}: {name} ms", round(seconds * 1000))
    print(f"broker {broker_away}:", json.dumps({n: round(s * 1000) for n, s in timings.items()}))
    print("broker up (usual):", json.dumps({n: round(s * 1000) for n, s in usual.items()}))

    # The broker is back: beat's sweeps hand out what waited in the database.
    monkeypatch.delenv("CELERY_BROKER_URL")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    new_events = TrainEvent.objects.filter(pk__gt=events_before, kind="transition")
    expected = set(new_events.values_list("pk", flat=True))
    assert len(expected) == 9  # three runs of three steps
    for _ in range(2):  # a second sweep finds nothing left to send
        api_tasks.webhooks_sweep()
        train_tasks.dispatch_notifications()
    delivered = [json.loads(body) for _, body in receiver.requests]
    delivery_ids = [headers["x-releasemgr-delivery"] for headers, _ in receiver.requests]
    assert len(delivery_ids) == len(set(delivery_ids)), "a delivery went out twice"
    sent_for = {
        d.event_id for d in WebhookDelivery.objects.filter(status="delivered", event__in=expected)
    }
    assert sent_for == expected, (sent_for, expected)
    assert len(delivered) == len(expected)
    told = Notification.objects.filter(train__in=new_events.values("train"))
    assert told.exists()
    assert not told.filter(status="pending").exists()  # each handed out: mailed or digested
    assert len(mail.outbox) == told.filter(status="sent").count()
