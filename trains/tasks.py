"""Celery tasks: thin, they call trains.notifications.services.

Beat runs scan_reminders every REMINDER_SCAN_SECONDS, dispatch_notifications every
NOTIFICATION_DISPATCH_SECONDS and build_digests daily, run_cadences every CADENCE_RUN_SECONDS
(settings.CELERY_BEAT_SCHEDULE).

Nothing is handed from one task to another that a crash could lose: the rows to send are
in the database, and dispatch_notifications takes them there itself (services, "Sending").
A scan or a digest build asks for a dispatch at once when it is done; if that request is
lost, the next beat's dispatch sends the same rows.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from trains.notifications import services
from trains.services.templates import cadences_run

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def scan_reminders() -> dict:
    result = services.reminders_scan()
    _dispatch_soon()
    return {"day": str(result.day), "reminders": len(result.reminders)}


@shared_task(acks_late=True)
def run_cadences() -> dict:
    """Make the schedules' next trains (idempotent: one train per schedule and window)."""
    made = cadences_run()
    _dispatch_soon()
    return {"made": [train.pk for train in made]}


@shared_task(acks_late=True)
def dispatch_notifications() -> dict:
    """Send what is pending, for at most about one beat interval (the next beat's task
    goes on where this one stopped; two at once share the rows)."""
    seconds = settings.NOTIFICATION_DISPATCH_SECONDS
    notifications = services.notifications_send(seconds=seconds)
    digests = services.digests_send(seconds=seconds)
    return {"notifications": len(notifications), "digests": len(digests)}


@shared_task(acks_late=True)
def build_digests() -> int:
    made = services.digests_build()
    _dispatch_soon()
    return len(made)


def _dispatch_soon() -> None:
    try:
        dispatch_notifications.delay()
    except Exception:  # the broker is away: beat's next dispatch sends the same rows
        logger.warning("Could not ask for a dispatch now; beat's next one sends it", exc_info=True)
