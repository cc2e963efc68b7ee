"""Two scans, two beats, two workers at once on PostgreSQL: each reminder exactly once."""

from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.db import connection

from tests.factories import make_train, schedule, scope
from tests.trains.test_races import _race
from trains.models import Notification, Reminder
from trains.notifications import services as notifications

from .conftest import START

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL locks"),
]


@pytest.fixture
def due(clock, role_groups, manager, owner, executive):
    """Four trains with something due today: 2 near, 2 overdue long enough to escalate."""
    for start in (
        START,
        START - timedelta(days=5),
        START - timedelta(days=11),
        START - timedelta(days=12),
    ):
        train = make_train(manager, **schedule(start))
        scope(train, manager=manager, owner=owner, releases=1)
    # near: 1 reminder each; overdue by 4 and 5 days: overdue + escalation each
    return {"reminders": 6, "notifications": 6}


def test_two_scans_at_once_write_each_reminder_once(due):
    results = _race(notifications.reminders_scan, notifications.reminders_scan, workers_per_call=2)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(len(r.reminders) for r in results) == due["reminders"]
    assert Reminder.objects.count() == due["reminders"]
    # two dispatchers fan them out at once: each person once per reminder
    fanned = _race(notifications.reminders_fan_out, notifications.reminders_fan_out)
    assert not [r for r in fanned if isinstance(r, Exception)], fanned
    assert sum(fanned) == due["notifications"]
    assert Notification.objects.filter(reminder__isnull=False).count() == due["notifications"]
    # and a scan afterwards, as a second beat would run it, finds nothing to do
    assert notifications.reminders_scan().reminders == []
    assert Reminder.objects.count() == due["reminders"]


def test_scanning_twice_in_a_row_writes_each_reminder_once(due):
    first, second = notifications.reminders_scan(), notifications.reminders_scan()
    assert (len(first.reminders), second.reminders) == (due["reminders"], [])


def test_two_workers_delivering_the_same_rows_send_each_once(due):
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    ids = list(Notification.objects.filter(reminder__isnull=False).values_list("pk", flat=True))

    def deliver_all():
        return [notifications.notification_deliver(notification_id=pk) for pk in ids]

    results = _race(deliver_all, deliver_all, deliver_all)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(django_mail.outbox) == len(ids)
    assert set(Notification.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"sent"}


def test_two_dispatchers_send_each_row_once(due):
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    results = _race(notifications.notifications_send, notifications.notifications_send)
    assert not [r for r in results if isinstance(r, Exception)], results
    handed = [pk for r in results for pk in r]
    assert sorted(handed) == sorted(Notification.objects.values_list("pk", flat=True))
    assert len(django_mail.outbox) == Notification.objects.filter(status="sent").count() >= 6
    ids = [m.extra_headers["Message-ID"] for m in django_mail.outbox]
    assert len(set(ids)) == len(ids)


def test_connection_is_postgresql():
    assert connection.vendor == "postgresql"
