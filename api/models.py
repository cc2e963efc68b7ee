"""Personal API tokens, calendar feed tokens and webhooks.

Webhook deliveries are derived from the trains' history (TrainEvent): `trains` never
imports this app; it only announces each history row once it is committed.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from api import crypto


class ApiToken(models.Model):
    """A personal token for `Authorization: Bearer …`. Only its SHA-256 is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=80, help_text="What uses it, e.g. “CI pipeline”.")
    prefix = models.CharField(max_length=12, help_text="The token's first characters.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class CalendarFeed(models.Model):
    """The secret in a user's calendar feed URL. Only its SHA-256 is stored, like an API
    token's: the URL is shown once when it is made; making a new one replaces it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"


class WebhookEventKind(models.TextChoices):
    TRAIN_TRANSITIONED = "train.transitioned", "A train changed state"
    APPROVAL_DECIDED = "approval.decided", "An approver decided"
    DEPLOYMENT_RECORDED = "deployment.recorded", "A deployment was recorded"
    RELEASE_TRANSITIONED = (
        "application_release.transitioned",
        "An application release on a train changed state",
    )


class WebhookSubscription(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField("URL", max_length=500)
    secret_encrypted = models.TextField(
        editable=False,
        help_text="The secret that signs each delivery (HMAC-SHA256), encrypted with "
        "FERNET_KEYS; read and set it as `secret`.",
    )
    events = models.JSONField(default=list, help_text="Event kinds to deliver.")
    train = models.ForeignKey(
        "trains.ReleaseTrain",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Only this train's events; empty: every train the owner may see.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, plain: str) -> None:
        self.secret_encrypted = crypto.encrypt(plain)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"


DELIVERY_BADGES = {
    DeliveryStatus.PENDING: "warning",
    DeliveryStatus.DELIVERED: "success",
    DeliveryStatus.FAILED: "danger",
}


class WebhookDelivery(models.Model):
    """One event to send to one subscription; its payload is fixed when it is created,
    so every attempt sends the same bytes under the same delivery id."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey("trains.TrainEvent", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=40, choices=WebhookEventKind.choices)
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField()
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event", "kind"], name="one_delivery_per_event_and_kind"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.subscription}"

    @property
    def badge(self) -> str:
        return DELIVERY_BADGES[self.status]


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery, kept for the webhook's page."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.delivery}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
