"""Shared by the security tests: one world per module (built once, rolled back at the
end), signed-in clients for each persona, and the hypothesis profiles.

The default `ci` profile tries the same 25 cases per target on every run (derandomized),
so that a red CI means a change broke something, within about a minute and a half.
HYPOTHESIS_PROFILE=thorough tries 400 fresh random cases per target: run it to look for
new trouble (a 39-target run takes about 25 minutes). HYPOTHESIS_PROFILE=fuzz, which
`make fuzz` runs once on PostgreSQL and once on SQLite, tries FUZZ_EXAMPLES (130) fresh
cases per target: 39 x 130 x 2 databases, over 10,000 in all.
"""

from __future__ import annotations

import os

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, settings

from tests.security.world import PERSONAS, build_world

ANON = "anonymous"

_common = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "print_blob": True,
}
settings.register_profile("ci", max_examples=25, derandomize=True, **_common)
settings.register_profile("thorough", max_examples=400, **_common)
settings.register_profile("fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", 130)), **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def clients(world, db, monkeypatch):
    """A signed-in client per persona (and one for nobody); webhooks are never sent."""
    from api import tasks

    monkeypatch.setattr(tasks.webhook_deliver, "apply_async", lambda *a, **k: None)
    sessions = {}
    for persona in (*PERSONAS, ANON):
        client = Client(raise_request_exception=False)
        if persona != ANON:
            client.force_login(world.users[persona])
        sessions[persona] = client
    return sessions
