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
