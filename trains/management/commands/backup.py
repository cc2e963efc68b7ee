"""Write a consistent copy of the whole database to one file.

PostgreSQL: `pg_dump --format=custom` (data, schema, the history triggers), restored with
`manage.py restore`. SQLite: SQLite's online backup, a complete database file.
"""

from __future__ import annotations

import sqlite3
import subprocess  # nosec B404
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils import timezone

from trains.management.commands._database import POSTGRESQL, SQLITE, pg_connection, tool


class Command(BaseCommand):
    help = "Back the database up to one file (see README, 'Backups')."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            help="Where to write it (default: var/backups/releasemgr-<time>.dump or .sqlite3).",
        )

    def handle(self, *args, output: str | None = None, **options):
        db = connections["default"].settings_dict
        engine = db["ENGINE"]
        if engine not in (POSTGRESQL, SQLITE):
            raise CommandError(f"Backups handle PostgreSQL and SQLite, not {engine}.")
        suffix = ".dump" if engine == POSTGRESQL else ".sqlite3"
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        path = Path(output or settings.BASE_DIR / "var" / "backups" / f"releasemgr-{stamp}{suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        if engine == POSTGRESQL:
            args, env = pg_connection(db)
            command = [tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
            # B603: fixed arguments; the database name and host come from settings.
            result = subprocess.run(  # nosec B603
                [*command, *args, "--file", str(path)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        else:
            source = sqlite3.connect(db["NAME"])
            target = sqlite3.connect(path)
            try:
                with target:
                    source.backup(target)
            finally:
                target.close()
                source.close()
        self.stdout.write(self.style.SUCCESS(f"Backed up to {path}"))
        return None
