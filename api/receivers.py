"""Turn committed history rows into webhook work. Connected in ApiConfig.ready()."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from api.models import WebhookSubscription
from trains.signals import train_event_recorded

logger = logging.getLogger(__name__)


@receiver(train_event_recorded, dispatch_uid="api.webhooks_on_event")
def queue_webhooks(sender, event_id: int, **kwargs) -> None:
    if not WebhookSubscription.objects.filter(active=True).exists():
        return  # the common case: nothing to tell anyone, no message to the broker
    from api.tasks import webhooks_fan_out

    try:
        webhooks_fan_out.delay(event_id)
    except Exception:  # the change is committed; never fail the request over this
        logger.exception("Could not queue webhooks for event %s; the sweep will", event_id)
