"""Prepared statements on PostgreSQL (settings, DB_PREPARE_THRESHOLD): a page read again
on the same connection runs its statements prepared, parsed and planned once; the reads
whose best plan depends on their values (`releasemgr.db.planned_each_time`) never are;
and every answer is the same either way."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from releasemgr.db import planned_each_time, planned_once
from tests.factories import make_train

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
    ),
]


def _prepared() -> set[str]:
    with connection.cursor() as cursor, planned_each_time():
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


def test_the_dashboard_read_again_runs_prepared_and_shows_the_same(client, manager):
    assert settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"] == 5
    train = make_train(manager)
    client.force_login(manager)
    first = client.get(f"/trains/{train.pk}/")
    assert first.status_code == 200
    assert not any("trains_releasetrain" in s for s in _prepared())
    pages = [client.get(f"/trains/{train.pk}/") for _ in range(6)]
    # the page's train read (its facts and this user's rights) is now prepared
    assert any('"may_manage"' in s and "trains_releasetrain" in s for s in _prepared())
    assert {p.status_code for p in pages} == {200}
    assert train.name in pages[-1].content.decode()
    assert pages[-1].context["d"].train.pk == train.pk


def test_reads_planned_each_time_are_never_prepared(manager):
    make_train(manager)
    sql = "SELECT count(*) FROM trains_releasetrain WHERE id > %s"
    for _ in range(8):
        with connection.cursor() as cursor, planned_each_time():
            cursor.execute(sql, [0])
            assert cursor.fetchone() == (1,)
    assert not any("WHERE id > $1" in s for s in _prepared())
    for _ in range(8):
        with connection.cursor() as cursor:
            cursor.execute(sql, [0])
            assert cursor.fetchone() == (1,)
    assert any("WHERE id > $1" in s for s in _prepared())


def _plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


def test_reads_planned_once_keep_their_plan_and_the_setting_goes_back(client, manager):
    """Inside `planned_once`, a prepared statement keeps its plan (the trains list's read
    of its trains with their facts); outside it PostgreSQL chooses again, also after an
    error in the block."""
    assert _plan_cache_mode() == "auto"
    with planned_once():
        assert _plan_cache_mode() == "force_generic_plan"
    assert _plan_cache_mode() == "auto"
    # the statement fails inside a savepoint: rolling back to it undoes the SET
    with (
        pytest.raises(DatabaseError),
        transaction.atomic(),
        planned_once(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT 1 / 0")
    assert _plan_cache_mode() == "auto"
    with pytest.raises(LookupError), planned_once():
        raise LookupError("not the database's")
    assert _plan_cache_mode() == "auto"
    for name in ("Alpha", "Beta"):
        make_train(manager, name=name)
    client.force_login(manager)
    pages = [client.get("/trains/?show=open") for _ in range(7)]
    assert {p.status_code for p in pages} == {200}
    assert [r.train.name for r in pages[-1].context["rows"]] == ["Beta", "Alpha"]
    assert any('"may_manage"' in s and "facts_phases" in s for s in _prepared())
    assert _plan_cache_mode() == "auto"
