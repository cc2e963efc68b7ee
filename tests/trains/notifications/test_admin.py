import pytest
from django.urls import reverse

from tests.factories import UserFactory, make_train, schedule
from trains.models import Notification, Reminder
from trains.notifications import services as notifications

from .conftest import START

pytestmark = pytest.mark.django_db


def test_staff_read_reminders_and_the_outbox_but_cannot_change_them(client, clock, manager):
    make_train(manager, **schedule(START))
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    for name in ("reminder", "notification", "undeliverableaddress"):
        assert client.get(reverse(f"admin:trains_{name}_changelist")).status_code == 200
    reminder, row = Reminder.objects.get(), Notification.objects.get()
    assert (
        client.post(reverse("admin:trains_reminder_delete", args=[reminder.pk])).status_code == 403
    )
    assert (
        client.post(reverse("admin:trains_notification_change", args=[row.pk])).status_code == 403
    )
