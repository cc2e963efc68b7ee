"""What the backup and restore commands share: how to reach a database from outside."""

from __future__ import annotations

import os
import shutil

from django.core.management.base import CommandError

POSTGRESQL = "django.db.backends.postgresql"
SQLITE = "django.db.backends.sqlite3"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise CommandError(
            f"{name} is not installed: it comes with the PostgreSQL client "
            "(apt-get install postgresql-client, of the server's major version)."
        )
    return path


def pg_connection(settings_dict: dict) -> tuple[list[str], dict[str, str]]:
    """libpq arguments and environment for a Django database's settings."""
    args = ["--dbname", settings_dict["NAME"]]
    if settings_dict.get("HOST"):
        args += ["--host", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["--username", str(settings_dict["USER"])]
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])  # not on the command line
    return args, env
