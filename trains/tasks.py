"""Celery tasks: thin, they take ids and call trains.notifications.services.

Beat runs scan_reminders every REMINDER_SCAN_SECONDS, dispatch_notifications every
NOTIFICATION_DISPATCH_SECONDS and build_digests daily, run_cadences every CADENCE_RUN_SECONDS
(settings.CELERY_BEAT_SCHEDULE).
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from trains.notifications import services
from trains.notifications.mail import TemporaryMailError
from trains.services.templates import cadences_run

RETRYING = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": (TemporaryMailError,),
    "retry_backoff": settings.NOTIFICATION_RETRY_BACKOFF,  # then doubling: 30 s, 60 s, 2 min…
    "retry_backoff_max": settings.NOTIFICATION_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": settings.NOTIFICATION_MAX_RETRIES,
}


@shared_task(acks_late=True)
def scan_reminders() -> dict:
    result = services.reminders_scan()
    queued = _queue_pending()
    return {"day": str(result.day), "reminders": len(result.reminders), "queued": queued}


@shared_task(acks_late=True)
def run_cadences() -> dict:
    """Make the schedules' next trains (idempotent: one train per schedule and window)."""
    made = cadences_run()
    return {"made": [train.pk for train in made], "queued": _queue_pending()}


@shared_task(acks_late=True)
def dispatch_notifications() -> int:
    return _queue_pending()


@shared_task(acks_late=True)
def build_digests() -> int:
    services.digests_build()
    return _queue_pending()


@shared_task(**RETRYING)
def deliver_notification(self, notification_id: int) -> str:
    return services.notification_deliver(
        notification_id=notification_id, final_attempt=self.request.retries >= self.max_retries
    )


@shared_task(**RETRYING)
def deliver_digest(self, digest_id: int) -> str:
    return services.digest_deliver(
        digest_id=digest_id, final_attempt=self.request.retries >= self.max_retries
    )


def _queue_pending() -> int:
    notifications = services.notifications_dispatch()
    for pk in notifications:
        deliver_notification.delay(pk)
    digests = services.digests_dispatch()
    for pk in digests:
        deliver_digest.delay(pk)
    return len(notifications) + len(digests)
