"""Webhooks and notification settings through the API: what /webhooks/ and
/notifications/ do, with the same services and rules."""

import pytest

from api import services as api_services
from api.models import WebhookDelivery, WebhookSubscription
from tests.factories import make_train
from trains import services
from trains.choices import Delivery
from trains.models import UndeliverableAddress

pytestmark = pytest.mark.django_db

EVENTS = ["train.transitioned", "approval.decided"]


def test_a_release_manager_adds_pauses_and_deletes_a_webhook(api_as, webhook_settings, manager):
    api = api_as(manager)
    made = api.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/hook", "events": EVENTS})
    assert made.status_code == 201, made.json()
    hook = made.json()
    stored = WebhookSubscription.objects.get()
    assert hook["secret"] == stored.secret and len(hook["secret"]) == 64
    assert hook["secret"] not in stored.secret_encrypted
    assert [h["id"] for h in api.get("/api/v1/webhooks/").json()] == [hook["id"]]

    paused = api.patch(f"/api/v1/webhooks/{hook['id']}/", {"active": False})
    assert paused.status_code == 200 and paused.json()["active"] is False
    assert api.patch(f"/api/v1/webhooks/{hook['id']}/", {}).status_code == 400
    assert api.delete(f"/api/v1/webhooks/{hook['id']}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


def test_webhook_refusals(api_as, webhook_settings, manager, other_manager, qa):
    api = api_as(manager)
    private = api.post("/api/v1/webhooks/", {"url": "http://10.0.0.1/hook", "events": EVENTS})
    assert private.status_code == 400 and "private address" in str(private.json()["url"])
    assert api.post("/api/v1/webhooks/", {"url": "ftp://x", "events": EVENTS}).status_code == 400
    no_events = api.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/", "events": []})
    assert no_events.status_code == 400 and "events" in no_events.json()
    hidden = make_train(other_manager)
    other_train = api.post(
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9/", "events": EVENTS, "train": hidden.pk},
    )
    assert other_train.status_code == 400 and "train" in other_train.json()
    assert not WebhookSubscription.objects.exists()

    assert api_as(qa).get("/api/v1/webhooks/").status_code == 403
    assert api_as(qa).post("/api/v1/webhooks/", {}).status_code == 403
    theirs = api_as(other_manager).post(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1:9/", "events": EVENTS}
    )
    pk = theirs.json()["id"]
    assert api.get(f"/api/v1/webhooks/{pk}/").status_code == 404
    assert api.patch(f"/api/v1/webhooks/{pk}/", {"active": False}).status_code == 404
    assert api.delete(f"/api/v1/webhooks/{pk}/").status_code == 404
    assert WebhookSubscription.objects.get(pk=pk).active


def test_a_delivery_is_seen_and_sent_again(
    api_as, webhook_settings, manager, other_manager, django_assert_max_num_queries
):
    api = api_as(manager)
    hook = api.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/", "events": EVENTS}).json()
    train = make_train(manager)
    services.train_transition(train=train, name="cancel", by=manager, reason="x")
    (delivery_pk,) = api_services.deliveries_create()
    WebhookDelivery.objects.filter(pk=delivery_pk).update(status="failed", next_attempt_at=None)
    api.get(f"/api/v1/webhooks/{hook['id']}/")
    # token, the webhook, its deliveries, their attempts
    with django_assert_max_num_queries(5):
        detail = api.get(f"/api/v1/webhooks/{hook['id']}/").json()
    assert [d["id"] for d in detail["deliveries"]] == [delivery_pk]
    again = api.post(f"/api/v1/webhook-deliveries/{delivery_pk}/redeliver/")
    assert again.status_code == 202 and again.json()["status"] == "pending"
    outsider = api_as(other_manager).post(f"/api/v1/webhook-deliveries/{delivery_pk}/redeliver/")
    assert outsider.status_code == 404


def test_notification_settings_are_read_and_changed(api_as, qa):
    api = api_as(qa)
    before = api.get("/api/v1/notification-preferences/").json()
    assert before["deadline"] == Delivery.EMAIL and before["update"] == Delivery.DIGEST
    changed = api.patch("/api/v1/notification-preferences/", {"deadline": "off"})
    assert changed.status_code == 200
    assert changed.json() == {**before, "deadline": "off"}
    bad = api.patch("/api/v1/notification-preferences/", {"deadline": "pigeon", "nope": "off"})
    assert bad.status_code == 400 and set(bad.json()) == {"nope"}
    bad = api.patch("/api/v1/notification-preferences/", {"deadline": "pigeon"})
    assert bad.status_code == 400 and "deadline" in bad.json()
    assert api.patch("/api/v1/notification-preferences/", ["off"]).status_code == 400
    assert api.get("/api/v1/notification-preferences/").json()["deadline"] == "off"


def test_a_refused_address_is_tried_again(api_as, qa):
    UndeliverableAddress.objects.create(email=qa.email.lower(), reason="550 no such user")
    answer = api_as(qa).post("/api/v1/notification-preferences/address/retry/")
    assert answer.status_code == 200 and qa.email in answer.json()["detail"]
    assert not UndeliverableAddress.objects.exists()
