"""A real Celery worker on the real Redis: queued scans become mails, each once.

The worker runs in a thread of this process (celery.contrib.testing), consumes from Redis
(database 14 unless REMINDERS_TEST_REDIS_URL says otherwise) and sends with the locmem
backend, so the test reads the very messages it sent.
"""

import time
from datetime import timedelta

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.worker import state as worker_state
from django.core import mail as django_mail
from django.utils import timezone

from releasemgr.celery import app as project_app
from tests.factories import make_train, schedule, scope
from trains import tasks
from trains.models import Notification, Reminder

from .conftest import workers_redis_url

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

REDIS_URL = workers_redis_url()


@pytest.fixture
def worker_on_redis(settings):
    """A Celery app like the project's, on Redis, with one worker thread consuming."""
    app = Celery("releasemgr-test")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(
        broker_url=REDIS_URL,
        broker_transport_options={},
        result_backend=None,
        task_always_eager=False,
        task_default_queue="releasemgr-test",
        worker_hijack_root_logger=False,
    )
    app.autodiscover_tasks(lambda: ["trains"], force=True)
    app.control.purge()  # nothing left over from an earlier run
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield app
    finally:
        app.control.purge()
        project_app.set_current()
        project_app.set_default()


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_worker_on_redis_sends_each_due_reminder_exactly_once(
    worker_on_redis, role_groups, manager, owner, executive
):
    today = timezone.localdate()
    near = make_train(manager, **schedule(today))  # scoping ends in 7 days
    late = make_train(manager, **schedule(today - timedelta(days=11)))  # ended 4 days ago
    scope(late, manager=manager, owner=owner, releases=1)  # manager approves development
    # two beats (or one beat and a retry) queue the scan twice
    tasks.scan_reminders.delay()
    tasks.scan_reminders.delay()

    def all_sent():
        rows = Notification.objects.filter(reminder__isnull=False)
        return rows.count() == 3 and not rows.exclude(status="sent").exists()

    def both_scans_done():
        # the solo worker runs one task at a time: both scans accepted and none running
        # means the second has finished, and any duplicate it queued would be in the table
        return (
            worker_state.total_count["trains.tasks.scan_reminders"] >= 2
            and not worker_state.active_requests
            and all_sent()
        )

    assert wait_for(all_sent), list(Notification.objects.values_list("status", "last_error"))
    assert wait_for(both_scans_done), dict(worker_state.total_count)
    assert sorted(Reminder.objects.values_list("train__name", "kind")) == sorted(
        [(near.name, "due_soon"), (late.name, "escalation"), (late.name, "overdue")]
    )
    reminder_mails = [m for m in django_mail.outbox if "releases.test" in m.body]
    subjects = sorted(m.subject for m in reminder_mails)
    assert len(subjects) == 3, subjects
    assert len(set(subjects)) == 3
    assert any(s.startswith("[releasemgr] Due in 7 days: End of scoping") for s in subjects)
    assert any(s.startswith("[releasemgr] Escalation: End of scoping") for s in subjects)
    assert all(m.to == ["manager@example.com"] for m in reminder_mails)
    # the worker, not an eager shortcut, ran both scans and the deliveries
    assert worker_state.total_count["trains.tasks.scan_reminders"] >= 2
    assert worker_state.total_count["trains.tasks.dispatch_notifications"] >= 1
    assert all(m.extra_headers["Message-ID"] for m in reminder_mails)
