"""`manage.py backup` and `manage.py restore` round-trip the demo data: every table's
rows, the people's password hashes, the history (triggers included on PostgreSQL)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _tables() -> list[str]:
    return sorted(
        {m._meta.db_table for m in apps.get_models()}
        | {f.m2m_db_table() for m in apps.get_models() for f in m._meta.local_many_to_many}
    )


SAMPLES = {
    "trains": "SELECT name, state, closed_at FROM trains_releasetrain ORDER BY id",
    "history": "SELECT train_id, kind, transition, message, created_at FROM trains_trainevent"
    " ORDER BY id",
    "decisions": "SELECT user_id, approve, comment, snapshot::text FROM approvals_approvaldecision"
    " ORDER BY id",
    "people": "SELECT username, password, is_superuser FROM auth_user ORDER BY id",
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="pg_dump and pg_restore")
def test_demo_data_round_trips_through_a_postgresql_backup(tmp_path, role_groups):
    # Eight closed trains of history (slips, rejections, a failed deployment) fill the
    # tables the whole two years do, in a fifth of the time.
    call_command("seed_demo", "--force", "--history", "8", stdout=StringIO())
    backup = tmp_path / "releasemgr.dump"
    call_command("backup", "--output", str(backup), stdout=StringIO())
    assert backup.read_bytes()[:5] == b"PGDMP"

    source = connection.settings_dict
    target = f"{source['NAME']}_restore"
    server = {
        "host": source["HOST"] or None,
        "port": source["PORT"] or None,
        "user": source["USER"] or None,
        "password": source["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{target}"')
    try:
        auth = source["USER"] + (f":{source['PASSWORD']}" if source["PASSWORD"] else "")
        url = f"postgres://{auth}@{source['HOST']}:{source['PORT'] or 5432}/{target}"
        call_command("restore", str(backup), "--database-url", url, "--yes", stdout=StringIO())
        with psycopg.connect(dbname=target, **server) as restored, connection.cursor() as live:
            for table in _tables():
                live.execute(f'SELECT count(*) FROM "{table}"')
                (expected,) = live.fetchone()
                (got,) = restored.execute(f'SELECT count(*) FROM "{table}"').fetchone()
                assert got == expected, table
            for name, sql in SAMPLES.items():
                live.execute(sql)
                assert restored.execute(sql).fetchall() == live.fetchall(), name
            counts = restored.execute("SELECT count(*) FROM trains_releasetrain").fetchone()
            live.execute("SELECT count(*) FROM trains_releasetrain")
            # the demo's trains (its 9 current ones, the closed history and a
            # schedule's upcoming trains) all came back
            assert counts[0] == live.fetchone()[0] > 9
            # The restored history is as append-only as the original.
            with pytest.raises(psycopg.errors.RestrictViolation):
                restored.execute("UPDATE trains_trainevent SET message = 'rewritten'")
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path, db):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a backup")
    with pytest.raises(CommandError, match="not a"):
        call_command("restore", str(junk), "--yes")
    with pytest.raises(CommandError, match="No backup at"):
        call_command("restore", str(tmp_path / "missing.dump"), "--yes")


def test_demo_data_round_trips_through_an_sqlite_backup(tmp_path):
    """The development default: SQLite, in a process of its own."""
    live, copy, backup = (
        tmp_path / "live.sqlite3",
        tmp_path / "copy.sqlite3",
        tmp_path / "b.sqlite3",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DATABASE_URL=f"sqlite:///{live}", DEBUG="true", CELERY_BROKER_URL="memory://")

    def manage(*args: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    manage("migrate", "--verbosity", "0")
    manage("seed_demo", "--history", "8")  # as above: enough history, in less time
    manage("backup", "--output", str(backup))
    manage("restore", str(backup), "--database-url", f"sqlite:///{copy}", "--yes")
    with sqlite3.connect(live) as a, sqlite3.connect(copy) as b:
        tables = [r[0] for r in a.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert "trains_trainevent" in tables
        for table in tables:
            query = f'SELECT * FROM "{table}" ORDER BY 1'
            assert a.execute(query).fetchall() == b.execute(query).fetchall(), table
        assert b.execute("SELECT count(*) FROM trains_releasetrain").fetchone()[0] > 9
