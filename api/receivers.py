"""Turn committed history rows into webhook work. Connected in ApiConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from api.models import WebhookSubscription
from releasemgr import broker
from trains.signals import train_event_recorded


@receiver(train_event_recorded, dispatch_uid="api.webhooks_on_event")
def queue_webhooks(sender, event_id: int, **kwargs) -> None:
    if not WebhookSubscription.objects.filter(active=True).exists():
        return  # the common case: nothing to tell anyone, no message to the broker
    from api.tasks import webhooks_fan_out

    # After the response, and never waiting on the broker: the event is committed, and
    # the sweep makes its deliveries if this does not reach a worker.
    broker.publish(webhooks_fan_out, event_id)
