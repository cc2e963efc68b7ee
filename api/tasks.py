"""Celery tasks: thin, they look up ids and call api.services."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from api import services

SWEEP_EVERY = 60.0  # seconds


@shared_task(ignore_result=True)
def webhook_deliver(delivery_pk: int) -> None:
    services.delivery_attempt(delivery_pk=delivery_pk)


@shared_task(ignore_result=True)
def webhooks_fan_out(event_id: int) -> None:
    """Right after a history row is committed: create its deliveries and send them."""
    for pk in services.deliveries_create(event_ids=[event_id]):
        webhook_deliver.delay(pk)


@shared_task(ignore_result=True)
def webhooks_sweep() -> None:
    """Every minute: catch events whose trigger was lost (broker down, worker restart)
    and send the deliveries whose retry is due."""
    since = timezone.now() - timedelta(seconds=settings.WEBHOOK_SCAN_WINDOW)
    services.deliveries_create(since=since)
    for pk in services.deliveries_due():
        webhook_deliver.delay(pk)


def register_periodic_tasks() -> None:
    """Add the sweep to Celery beat's schedule without touching the settings' own."""
    from releasemgr.celery import app

    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        "webhooks-sweep": {"task": "api.tasks.webhooks_sweep", "schedule": SWEEP_EVERY},
    }
