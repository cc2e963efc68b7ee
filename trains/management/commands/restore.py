"""Replace a database's content with a backup written by `manage.py backup`.

By default into this instance's database (stop the web and worker processes first);
with --database-url into another one, e.g. a scratch database to check that a backup
restores. The backup's kind must match the database's (PostgreSQL dump or SQLite file).
"""

from __future__ import annotations

import sqlite3
import subprocess  # nosec B404
from pathlib import Path

import environ
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from trains.management.commands._database import POSTGRESQL, SQLITE, pg_connection, tool


class Command(BaseCommand):
    help = "Restore the database from a backup file (see README, 'Backups')."

    def add_arguments(self, parser):
        parser.add_argument("file", help="A file written by `manage.py backup`.")
        parser.add_argument(
            "--database-url",
            help="Restore into this database instead of the instance's own (DATABASE_URL form).",
        )
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask before replacing the data."
        )

    def handle(self, *args, file: str, database_url: str | None = None, yes: bool = False, **o):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No backup at {path}.")
        if database_url:
            db = environ.Env.db_url_config(database_url)
        else:
            db = connections["default"].settings_dict
        engine = db["ENGINE"]
        if engine not in (POSTGRESQL, SQLITE):
            raise CommandError(f"Restores handle PostgreSQL and SQLite, not {engine}.")
        if not yes:
            answer = input(f"Replace everything in database {db['NAME']!r} with {path}? [yes/no] ")
            if answer.strip().lower() != "yes":
                raise CommandError("Nothing restored.")
        connections.close_all()  # our own connections must not hold locks on the tables
        if engine == POSTGRESQL:
            self._postgresql(path, db)
        else:
            self._sqlite(path, db)
        self.stdout.write(self.style.SUCCESS(f"Restored {db['NAME']} from {path}"))

    def _postgresql(self, path: Path, db: dict) -> None:
        with path.open("rb") as backup:
            if backup.read(5) != b"PGDMP":
                raise CommandError(f"{path} is not a PostgreSQL backup (pg_dump custom format).")
        args, env = pg_connection(db)
        command = [
            tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
        ]
        # B603: fixed arguments; the database comes from settings or --database-url.
        result = subprocess.run(  # nosec B603
            [*command, *args, str(path)], env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise CommandError(f"pg_restore failed (nothing changed): {result.stderr.strip()}")

    def _sqlite(self, path: Path, db: dict) -> None:
        with path.open("rb") as backup:
            if backup.read(16) != b"SQLite format 3\x00":
                raise CommandError(f"{path} is not an SQLite backup.")
        source = sqlite3.connect(path)
        target = sqlite3.connect(db["NAME"])
        try:
            with target:
                source.backup(target)  # all pages replaced, in one step
        finally:
            target.close()
            source.close()
