"""Writes of the api app: personal tokens, calendar feeds, webhook subscriptions and
their deliveries. Train changes never happen here: the API calls trains.services."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from api import crypto, webhooks
from api.models import (
    ApiToken,
    CalendarFeed,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEventKind,
    WebhookSubscription,
)
from releasemgr import roles
from releasemgr.auth import groups_of
from releasemgr.exceptions import NotAllowed
from trains.access import can_view, trains_visible_to
from trains.choices import EventKind, TrainState
from trains.models import ReleaseTrain, TrainEvent

# B105: a public marker of API tokens, not a secret
TOKEN_PREFIX = "rm_"  # nosec B105
TOKEN_TOUCH_EVERY = timedelta(minutes=5)


# Personal API tokens ------------------------------------------------------------------


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token for the user; the raw value is returned once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user, name=(name or "").strip(), prefix=raw[:10], key_hash=token_hash(raw)
    )
    token.full_clean()
    token.save()
    return token, raw


def token_revoke(*, token: ApiToken, by: AbstractBaseUser) -> ApiToken:
    if token.user_id != by.pk:
        raise NotAllowed("You can revoke only your own tokens.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(raw: str) -> ApiToken | None:
    """The active token with this value, with its user; None when there is none."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .annotate(group_rows=groups_of("user_id"))  # the roles need no query of their own
        .filter(key_hash=token_hash(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    roles.remember_groups(token.user, token.group_rows)
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_EVERY:
        # written at most every few minutes, not on every request
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# Calendar feed -----------------------------------------------------------------------


def feed_create(*, user: AbstractBaseUser) -> tuple[CalendarFeed, str]:
    """A new secret feed token for the user; any earlier one stops working at once.
    The raw token is returned once, for the URL shown to its owner, and never stored."""
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        feed, created = CalendarFeed.objects.select_for_update().get_or_create(
            user=user, defaults={"token_hash": token_hash(raw)}
        )
        if not created:
            feed.token_hash = token_hash(raw)
            feed.save(update_fields=["token_hash", "created_at"])
    return feed, raw


def feed_authenticate(raw: str) -> CalendarFeed | None:
    """The feed whose URL carries this token, with its active user; None when none."""
    if len(raw) > 100:
        return None
    return (
        CalendarFeed.objects.select_related("user")
        .filter(token_hash=token_hash(raw), user__is_active=True)
        .first()
    )


# Webhook subscriptions ----------------------------------------------------------------


def _require_release_manager(user: AbstractBaseUser) -> None:
    if not roles.has_role(user, roles.RELEASE_MANAGERS):
        raise NotAllowed("Only release managers manage webhooks.")


def subscription_create(
    *,
    by: AbstractBaseUser,
    url: str,
    events: list[str],
    train: ReleaseTrain | None = None,
) -> WebhookSubscription:
    _require_release_manager(by)
    url = (url or "").strip()
    errors: dict[str, list[str]] = {}
    events = sorted(set(events or []))
    if not events:
        errors["events"] = ["Choose at least one kind of event."]
    elif not set(events) <= set(WebhookEventKind.values):
        errors["events"] = ["Unknown event kind."]
    if train is not None and not can_view(by, train):
        errors["train"] = ["No such train."]
    subscription = WebhookSubscription(owner=by, url=url, events=events, train=train)
    subscription.secret = secrets.token_hex(32)  # kept encrypted (api.crypto)
    try:
        subscription.full_clean(exclude=["events"])
        webhooks.check_url(url)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    subscription.save()
    return subscription


def secrets_reencrypt() -> tuple[int, list[int]]:
    """Encrypt every webhook secret again with the newest key in FERNET_KEYS, each row in
    its own short transaction. Returns how many were re-encrypted and the ids of those no
    key opens (left untouched)."""
    done, unreadable = 0, []
    for pk in WebhookSubscription.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            subscription = WebhookSubscription.objects.select_for_update().filter(pk=pk).first()
            if subscription is None:  # deleted meanwhile
                continue
            try:
                rotated = crypto.rotate(subscription.secret_encrypted)
            except crypto.InvalidToken:
                unreadable.append(pk)
                continue
            if rotated != subscription.secret_encrypted:
                subscription.secret_encrypted = rotated
                subscription.save(update_fields=["secret_encrypted"])
                done += 1
    return done, unreadable


def _require_owner(subscription: WebhookSubscription, by: AbstractBaseUser) -> None:
    if subscription.owner_id != by.pk and not by.is_superuser:
        raise NotAllowed("This webhook belongs to someone else.")


def subscription_set_active(
    *, subscription: WebhookSubscription, by: AbstractBaseUser, active: bool
) -> WebhookSubscription:
    _require_owner(subscription, by)
    subscription.active = active
    subscription.save(update_fields=["active"])
    return subscription


def subscription_delete(*, subscription: WebhookSubscription, by: AbstractBaseUser) -> None:
    _require_owner(subscription, by)
    subscription.delete()


# Webhook deliveries -------------------------------------------------------------------

# Which history rows make which webhook event.
EVENT_FILTERS = {
    WebhookEventKind.TRAIN_TRANSITIONED: Q(kind=EventKind.TRANSITION),
    WebhookEventKind.APPROVAL_DECIDED: Q(kind=EventKind.DECISION),
    WebhookEventKind.DEPLOYMENT_RECORDED: Q(kind=EventKind.TRANSITION, transition="deploy"),
    WebhookEventKind.RELEASE_TRANSITIONED: Q(kind=EventKind.RELEASE, data__has_key="transition"),
}


def _event_data(kind: str, event: TrainEvent) -> dict:
    data = event.data or {}
    if kind == WebhookEventKind.TRAIN_TRANSITIONED:
        return {
            "transition": event.transition,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "reason": event.message,
        }
    if kind == WebhookEventKind.APPROVAL_DECIDED:
        keys = ("decision", "gate", "round", "approve")
        return {**{k: data.get(k) for k in keys}, "message": event.message}
    if kind == WebhookEventKind.DEPLOYMENT_RECORDED:
        return {
            "deployment": data.get("deployment"),
            "succeeded": data.get("succeeded", event.to_state == TrainState.CLOSED),
            "to_state": event.to_state,
        }
    return {
        "release": data.get("release"),
        "transition": data.get("transition"),
        "to_state": data.get("to"),
        "message": event.message,
    }


def webhook_payload(kind: str, event: TrainEvent, delivery_id: str) -> dict:
    train = event.train
    actor = event.actor
    return {
        "id": delivery_id,
        "event": kind,
        "occurred_at": event.created_at.isoformat(),
        "train": {
            "id": train.pk,
            "name": train.name,
            "url": f"{settings.SITE_URL}/api/v1/trains/{train.pk}/",
            "web_url": f"{settings.SITE_URL}/trains/{train.pk}/",
        },
        "actor": {"id": actor.pk, "username": actor.get_username()} if actor else None,
        "data": _event_data(kind, event),
    }


def deliveries_create(
    *, event_ids: list[int] | None = None, since: datetime | None = None
) -> list[int]:
    """Create the deliveries that history rows owe to active subscriptions; return the
    ids of those created. Idempotent: a delivery exists once per subscription, event
    and kind. A subscription gets only events of trains its owner may see, and only
    those that happened after it was created."""
    subscriptions = WebhookSubscription.objects.filter(active=True, owner__is_active=True)
    new: list[WebhookDelivery] = []
    for subscription in subscriptions.select_related("owner"):
        if not roles.has_role(subscription.owner, roles.RELEASE_MANAGERS):
            continue
        events = TrainEvent.objects.filter(
            created_at__gte=max(subscription.created_at, since or subscription.created_at),
            train__in=trains_visible_to(subscription.owner),
        ).select_related("train", "actor")
        if event_ids is not None:
            events = events.filter(pk__in=event_ids)
        if subscription.train_id:
            events = events.filter(train_id=subscription.train_id)
        for kind in subscription.events:
            if kind not in EVENT_FILTERS:
                continue
            done = WebhookDelivery.objects.filter(
                subscription=subscription, event=OuterRef("pk"), kind=kind
            )
            for event in events.filter(EVENT_FILTERS[kind]).exclude(Exists(done)):
                delivery = WebhookDelivery(
                    subscription=subscription,
                    event=event,
                    kind=kind,
                    next_attempt_at=event.created_at,
                )
                delivery.payload = webhook_payload(kind, event, str(delivery.delivery_id))
                new.append(delivery)
    if not new:
        return []
    WebhookDelivery.objects.bulk_create(new, ignore_conflicts=True)
    ids = [d.delivery_id for d in new]
    return list(
        WebhookDelivery.objects.filter(delivery_id__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def deliveries_due(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now,
            subscription__active=True,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def _body(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def delivery_attempt(*, delivery_pk: int) -> WebhookDelivery | None:
    """Send a due delivery once and log the attempt; schedule the next one on failure.

    The row is claimed in a short transaction (pushing next_attempt_at past the request's
    timeout) so the HTTP request runs without holding a lock and no other worker sends
    the same delivery meanwhile. Returns None when the delivery was not due.
    """
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("subscription")
            .filter(
                pk=delivery_pk,
                status=DeliveryStatus.PENDING,
                next_attempt_at__lte=now,
                subscription__active=True,
            )
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT * 3)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    subscription = delivery.subscription
    body = _body(delivery.payload)
    answer = webhooks.post(
        subscription.url,
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": "releasemgr-webhooks/1",
            webhooks.EVENT_HEADER: delivery.kind,
            webhooks.DELIVERY_HEADER: str(delivery.delivery_id),
            webhooks.SIGNATURE_HEADER: webhooks.sign(subscription.secret, body),
        },
    )
    delays = settings.WEBHOOK_RETRY_DELAYS
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            status_code=answer.status_code,
            error=answer.error,
            response_excerpt=answer.excerpt,
            duration_ms=answer.duration_ms,
        )
        finished = timezone.now()
        if answer.ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = finished
            delivery.next_attempt_at = None
        elif delivery.attempts > len(delays):
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = finished + timedelta(seconds=delays[delivery.attempts - 1])
        delivery.save(update_fields=["status", "delivered_at", "next_attempt_at"])
    return delivery


def delivery_redeliver(*, delivery: WebhookDelivery, by: AbstractBaseUser) -> WebhookDelivery:
    """Send a delivery once more, now (after a fix on the receiving side)."""
    _require_owner(delivery.subscription, by)
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    return delivery
