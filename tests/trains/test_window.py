"""`WindowMeets`: the trains whose window (start and end days, both included) meets some
days, as the portfolio and the calendar pick them; the same answer on PostgreSQL (by
the windows' GiST index, migration 0020) as on SQLite."""

from datetime import date, timedelta

import pytest
from django.db import connection

from tests.factories import make_train, schedule
from trains.models import ReleaseTrain, WindowMeets

pytestmark = pytest.mark.django_db

START = date(2027, 3, 1)


def meets(first: date, last: date) -> set[int]:
    return set(ReleaseTrain.objects.filter(WindowMeets(first, last)).values_list("pk", flat=True))


def test_a_window_meets_the_days_it_shares_with_them_ends_included(manager):
    train = make_train(manager, **schedule(START))  # START .. START + 29 days
    end = train.end_date
    assert train.pk in meets(START - timedelta(days=10), START)  # ends on its first day
    assert train.pk in meets(end, end + timedelta(days=10))  # starts on its last day
    assert train.pk in meets(START + timedelta(days=3), START + timedelta(days=4))  # inside
    assert train.pk in meets(START - timedelta(days=1), end + timedelta(days=1))  # around
    assert train.pk not in meets(START - timedelta(days=10), START - timedelta(days=1))
    assert train.pk not in meets(end + timedelta(days=1), end + timedelta(days=10))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the GiST index is PostgreSQL's")
def test_postgresql_can_answer_it_from_the_windows_index(manager):
    make_train(manager, **schedule(START))
    sql, params = (
        ReleaseTrain.objects.filter(WindowMeets(START, START)).values("pk").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "train_window" in plan
