"""How the pages grow with the data: the dashboard at 20, 200 and 1,000 releases, and the
trains list at 1,000, 10,000 and 100,000 trains (each train like the pages dataset's:
bench/dataset.py).

The list's pages show 25 trains whatever the table holds, so their time must not grow
with it; the dashboard shows every release of its train, so its time may grow with them,
at most linearly. The dashboard at 200 releases is measured again at each size of the
table: what it shows does not change, so neither should its time.

`make bench` runs it on the pages' database after their measures (bench/run.py); alone it
builds a database of its own:
python bench/growth.py [--small] [--requests N] [--json PATH] [--database-url URL].
It never asserts a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/releasemgr_bench_growth"

# The trains at each step (10 releases each) and the dashboard's sizes.
FULL = {
    "trains": [1_000, 10_000, 100_000],
    "releases_per_train": 10,
    "dashboards": [20, 200, 1_000],
}
SMALL = {"trains": [100, 300, 1_000], "releases_per_train": 10, "dashboards": [5, 40, 200]}


def _setup(database_url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _measure(pages: dict[str, str], requests: int) -> dict[str, dict]:
    """The manager's median time and query count for each page, interleaved."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username="manager"))
    rows = {}
    for label, url in pages.items():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, (label, response.status_code)  # nosec B101 - a benchmark check
        rows[label] = {"url": url, "queries": len(ctx.captured_queries), "times": []}
        for _ in range(3):  # warm-up
            client.get(url)
    for _ in range(requests):
        for label, url in pages.items():
            started = time.perf_counter()
            client.get(url)
            rows[label]["times"].append((time.perf_counter() - started) * 1000)
    for row in rows.values():
        row["median_ms"] = round(statistics.median(row.pop("times")), 2)
    return rows


def run(*, small: bool, requests: int) -> dict:
    """On the database Django is set up with (bench/run.py's, after its own measures):
    its trains and applications are emptied, then built again size by size."""
    from django.db import connection

    from bench import dataset

    plan = SMALL if small else FULL
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE trains_releasetrain, applications_application RESTART IDENTITY CASCADE"
        )

    base = dataset.SMALL if small else dataset.FULL
    first = plan["trains"][0]
    middle = plan["dashboards"][1]
    scale = dataclasses.replace(
        base, trains=first, releases=first * plan["releases_per_train"], big_releases=middle
    )
    started = time.perf_counter()
    ds = dataset.build(scale)
    dashboards = {middle: ds.big_train_id}
    for releases in plan["dashboards"]:
        if releases != middle:
            dashboards[releases] = dataset.dashboard_train(scale, releases)
    print(f"growth: {first:,} trains built in {time.perf_counter() - started:.1f} s", flush=True)
    result = {"dashboard": [], "list": []}
    dash = _measure({size: f"/trains/{dashboards[size]}/" for size in sorted(dashboards)}, requests)
    for size, row in dash.items():
        result["dashboard"].append({"releases": size, **row})
    from trains.models import ReleaseTrain

    for n in plan["trains"]:
        if ReleaseTrain.objects.count() < n:
            # More trains like the first ones (not the big trains): copied on the server.
            seconds = dataset.copy_trains(2, first, until=n)
            print(f"growth: {n:,} trains ({seconds:.1f} s to copy)", flush=True)
        trains = ReleaseTrain.objects.count()
        rows = _measure(
            {
                "needs": "/trains/",  # the default tab: what waits for the manager
                "open": "/trains/?show=open",  # the first page of the open trains
                # the last page: of the first 1,000 trains at most (lists.LIST_CAP)
                "open_last": f"/trains/?show=open&page={10**9}",
                "dashboard": f"/trains/{dashboards[middle]}/",
            },
            requests,
        )
        result["list"].append({"trains": trains, **rows})
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--json")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_GROWTH_DATABASE_URL", DEFAULT_URL)
    )
    options = parser.parse_args(argv)
    _setup(options.database_url)
    result = run(small=options.small, requests=options.requests)
    print(json.dumps(result, indent=2))
    if options.json:
        Path(options.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
