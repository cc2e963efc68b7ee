"""The benchmark script still runs, at a size fit for CI (the real one: make bench-reminders)."""

import pytest
from django.db import connection
from django.utils import timezone

from bench import reminder_scan

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db,
    # it builds its history with COPY, as the real benchmark does
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark is PostgreSQL's"),
]


def test_the_benchmark_builds_and_measures_a_small_history(role_groups):
    today = timezone.localdate()
    made = reminder_scan.build(phases=400, due_share=0.1, today=today)
    assert made["phases"] == 400 and made["trains"] == 100
    result = reminder_scan.measure(today=today, repeat=1, scans=2)
    assert (result["find_queries"], result["due_items"]) == (1, 40)
    assert result["reminders"] >= result["due_items"]
    assert result["notifications"] >= result["reminders"]
    assert (result["rescan_queries"], result["rescan_reminders"]) == (1, 0)
