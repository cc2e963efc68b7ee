import os
from datetime import UTC, date, datetime, time

import pytest
import time_machine


@pytest.fixture(autouse=True)
def _reminder_settings(settings):
    """The documented defaults, whatever the environment says."""
    settings.REMINDER_OFFSETS_DAYS = [7, 2, 1]
    settings.REMINDER_ESCALATE_AFTER_DAYS = 3
    settings.SITE_URL = "https://releases.test"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TIME_ZONE = "UTC"


START = date(2027, 3, 1)


@pytest.fixture
def clock():
    """Frozen time, on START at 09:00 UTC; `clock.on(day)` moves it to another day."""
    with time_machine.travel(datetime.combine(START, time(9), tzinfo=UTC), tick=False) as t:
        t.on = lambda day: t.move_to(datetime.combine(day, time(9), tzinfo=UTC))
        yield t


@pytest.fixture
def crew(people):
    """The people `drive` needs (tests/conftest.py's `people`)."""
    return people


def workers_redis_url() -> str:
    """The Redis database where the tests that run real Celery workers queue their tasks
    (they purge it): REMINDERS_TEST_REDIS_URL, else one of this test process's own, so
    that under pytest-xdist two such tests at once never share a queue (gw0: 14, gw1: 13)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    default = f"redis://127.0.0.1:6379/{14 - int(worker or 0)}"
    return os.environ.get("REMINDERS_TEST_REDIS_URL", default)
