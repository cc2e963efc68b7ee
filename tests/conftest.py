import logging
import os
from datetime import UTC, date, datetime, time

import pytest
import time_machine

from releasemgr import roles
from tests import numbers
from tests.factories import UserFactory


def pytest_configure(config: pytest.Config) -> None:
    """FREEZE_TODAY=YYYY-MM-DD runs the whole suite as if today were that day (the clock
    starts at 09:00 UTC and ticks), to find tests that depend on today's date: run
    it on a month's last day, on 31 December and on 29 February (README, "Tests")."""
    day = os.environ.get("FREEZE_TODAY", "").strip()
    if not day:
        return
    try:
        today = date.fromisoformat(day)
    except ValueError:
        raise pytest.UsageError(f"FREEZE_TODAY must be a date, YYYY-MM-DD; got {day!r}") from None
    traveller = time_machine.travel(datetime.combine(today, time(9), tzinfo=UTC), tick=True)
    traveller.start()
    config.add_cleanup(traveller.stop)


def pytest_report_header(config: pytest.Config) -> str | None:
    day = os.environ.get("FREEZE_TODAY", "").strip()
    return f"clock frozen on {day} (FREEZE_TODAY)" if day else None


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under xdist each worker counts its own; they travel to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["hardening_numbers"] = dict(numbers.COUNTS)


@pytest.hookimpl(optionalhook=True)  # xdist's hook
def pytest_testnodedown(node, error) -> None:
    numbers.COUNTS.update(getattr(node, "workeroutput", {}).get("hardening_numbers", {}))


def pytest_terminal_summary(terminalreporter) -> None:
    if getattr(terminalreporter.config, "workeroutput", None) is not None:
        return  # a worker: the controller reports the sum
    if numbers.COUNTS:
        numbers.write()
        terminalreporter.write_sep("-", "hardening numbers")
        for key, value in sorted(numbers.COUNTS.items()):
            terminalreporter.write_line(f"{key}: {value}")


# django-axes logs every sign-in at INFO; a failing test's log should show what matters.
logging.getLogger("axes").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def role_groups(db):
    """The role groups come from a data migration; transactional tests flush them."""
    from django.contrib.auth.models import Group

    return [Group.objects.get_or_create(name=name)[0] for name in roles.ALL_ROLES]


@pytest.fixture
def manager(role_groups):
    return UserFactory(username="manager", roles=[roles.RELEASE_MANAGERS])


@pytest.fixture
def other_manager(role_groups):
    return UserFactory(username="other_manager", roles=[roles.RELEASE_MANAGERS])


@pytest.fixture
def owner(role_groups):
    return UserFactory(username="owner", roles=[roles.PRODUCT_OWNERS])


@pytest.fixture
def qa(role_groups):
    return UserFactory(username="qa", roles=[roles.QA])


@pytest.fixture
def executive(role_groups):
    return UserFactory(username="executive", roles=[roles.EXECUTIVES])


@pytest.fixture
def executive2(role_groups):
    return UserFactory(username="executive2", roles=[roles.EXECUTIVES])


@pytest.fixture
def engineer(role_groups):
    return UserFactory(username="engineer", roles=[roles.RELEASE_ENGINEERS])


@pytest.fixture
def stakeholder(role_groups):
    return UserFactory(username="stakeholder")


@pytest.fixture
def outsider(role_groups):
    return UserFactory(username="outsider")


@pytest.fixture
def people(manager, owner, qa, executive, engineer):
    """The people `tests.factories.drive` needs to walk a train through its states."""
    return {
        "manager": manager,
        "owner": owner,
        "qa": qa,
        "executive": executive,
        "engineer": engineer,
    }


@pytest.fixture(autouse=True)
def _broker_not_paused():
    """A test that took the broker away leaves no pause behind (releasemgr.broker)."""
    from releasemgr import broker

    broker.reset()
    yield
    broker.reset()


@pytest.fixture(autouse=True)
def _no_kept_figures():
    """Figures kept by one test (trains.selectors.metrics.metrics_snapshot, in the
    process's cache) are not another's: test databases reuse ids and days."""
    from django.core.cache import cache

    cache.clear()
