"""Create (or drop and create) the PostgreSQL database named by DATABASE_URL.

    python scripts/pgdb.py ensure     # create it when missing
    python scripts/pgdb.py recreate   # drop it (closing its connections) and create it

Used by `make serve` and the smoke test; connects to the `postgres` maintenance
database of the same server with the same credentials.
"""

import os
import sys

import environ
import psycopg
from psycopg import sql


def main(action: str) -> None:
    config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    if config["ENGINE"] != "django.db.backends.postgresql":
        return  # SQLite and friends create their own file
    name = config["NAME"]
    params = {
        "dbname": "postgres",
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    with psycopg.connect(**params, autocommit=True) as connection:
        if action == "recreate":
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"pgdb: created database {name}")


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("ensure", "recreate"):
        sys.exit(__doc__)
    main(sys.argv[1])
