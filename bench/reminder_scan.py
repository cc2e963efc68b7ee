"""Benchmark of the reminder scan on a big history (not a test: it times nothing it asserts).

Builds N phases (default 100,000: N/4 trains, 500 of them open around today, the rest
closed or cancelled over ten years) with bulk inserts on a PostgreSQL database of its own,
then prints the scan query's time, its query count and plan, and the time and query count
of a whole scan (writing the reminders and their outbox rows).

    make bench-reminders                      # 100,000 phases
    .venv/bin/python bench/reminder_scan.py --phases 10000 --keep
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/other .venv/bin/python bench/...

The database (default releasemgr_bench_reminders) is dropped and created again; never point it at
a database you care about.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/releasemgr_bench_reminders"
CANCELLED_SHARE = 0.05
LATE_SHARE = 0.2  # open trains whose current phase is past its planned end
BATCH = 5000


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name in {"postgres", "releasemgr", "template0", "template1"}:
        raise SystemExit(f"Refusing to drop database {name!r}; name one for the benchmark.")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}"')


def build(*, phases: int, open_trains: int, today: date, seed: int = 42) -> dict[str, int]:
    """Bulk-insert phases//4 trains with their phases, milestones and some criteria.

    `open_trains` of them are open, started within two months of today; the rest are the
    history: closed or cancelled over the last ten years.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from releasemgr import roles
    from trains.choices import PHASE_ORDER, PhaseKind, TrainState, TrainType
    from trains.models import ExitCriterion, Milestone, Phase, ReleaseTrain

    # B311: repeatable benchmark data, not security
    rng = random.Random(seed)  # nosec B311
    User = get_user_model()
    managers = []
    for i in range(20):
        user, _ = User.objects.get_or_create(
            username=f"bench-manager-{i}", defaults={"email": f"bench-manager-{i}@example.com"}
        )
        user.groups.add(Group.objects.get_or_create(name=roles.RELEASE_MANAGERS)[0])
        managers.append(user)
    n_trains = max(1, phases // len(PHASE_ORDER))
    open_ids = set(rng.sample(range(n_trains), min(open_trains, n_trains)))
    noon = datetime(today.year, today.month, today.day, 12, tzinfo=timezone.get_current_timezone())

    def at(day: date) -> datetime:
        return noon + timedelta(days=(day - today).days)

    open_states = [
        TrainState.SCOPING,
        TrainState.CONSTRUCTION,
        TrainState.VERIFICATION,
        TrainState.DEPLOYMENT,
    ]
    FINAL = (TrainState.CLOSED, TrainState.CANCELLED)
    made = {"trains": 0, "phases": 0, "milestones": 0, "criteria": 0}
    for first in range(0, n_trains, BATCH):
        specs = []
        for number in range(first, min(first + BATCH, n_trains)):
            if number in open_ids:
                state = "open"
                start = today + timedelta(days=rng.randint(-60, 20))
            else:
                state = TrainState.CANCELLED if rng.random() < CANCELLED_SHARE else "closed"
                start = today - timedelta(days=rng.randint(40, 3650))
            ends = [start + timedelta(days=7 * (i + 1)) for i in range(len(PHASE_ORDER))]
            if state == "open":
                # the phase whose end is still ahead, or a late one left behind
                current = next((i for i, end in enumerate(ends) if end >= today), 3)
                if rng.random() < LATE_SHARE and current > 0:
                    current -= 1
                state = open_states[current]
            specs.append((state, start, ends))
        trains = ReleaseTrain.objects.bulk_create(
            [
                ReleaseTrain(
                    name=f"Bench {first + i}",
                    train_type=TrainType.MINOR,
                    primary_manager=rng.choice(managers),
                    created_by=managers[0],
                    start_date=start,
                    end_date=ends[-1] + timedelta(days=1),
                    state=state,
                    # the database holds closed_at exactly on closed and cancelled trains
                    closed_at=at(ends[-1]) if state in FINAL else None,
                )
                for i, (state, start, ends) in enumerate(specs)
            ]
        )
        phase_rows, milestones, criteria = [], [], []
        for train, (state, start, ends) in zip(trains, specs, strict=True):
            if state == TrainState.CLOSED:
                current = len(PHASE_ORDER)
            elif state == TrainState.CANCELLED:
                current = rng.randint(0, 3)  # cancelling leaves its phase open
            else:
                current = open_states.index(state)
            for i, kind in enumerate(PHASE_ORDER):
                started = at(start + timedelta(days=7 * i)) if i <= current else None
                ended = at(ends[i]) if i < current else None
                phase_rows.append(
                    Phase(
                        train=train,
                        kind=kind,
                        position=i,
                        planned_end=ends[i],
                        actual_start=started,
                        actual_end=ended,
                    )
                )
            # a third of the milestones are never marked reached, closed trains included
            reached = None if rng.random() < 0.33 else at(ends[1])
            milestones.append(
                Milestone(
                    train=train,
                    name="Code freeze",
                    due_date=ends[1],
                    reached_at=reached,
                    reached_by=train.primary_manager if reached else None,
                )
            )
            if rng.random() < 0.25:
                criteria.append(
                    ExitCriterion(
                        train=train,
                        phase=PhaseKind.VERIFICATION,
                        description="Load test",
                        due_date=ends[2] - timedelta(days=2),
                        met_at=at(ends[2]) if state == TrainState.CLOSED else None,
                        met_by=train.primary_manager if state == TrainState.CLOSED else None,
                    )
                )
        Phase.objects.bulk_create(phase_rows)
        Milestone.objects.bulk_create(milestones)
        ExitCriterion.objects.bulk_create(criteria)
        made["trains"] += len(trains)
        made["phases"] += len(phase_rows)
        made["milestones"] += len(milestones)
        made["criteria"] += len(criteria)
    return made


def measure(*, today: date, repeat: int = 5, explain: bool = True) -> dict:
    """Time the scan query (warm, median of `repeat`), then one whole scan and a second."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from trains.notifications import selectors, services

    args = {
        "today": today,
        "offsets": settings.REMINDER_OFFSETS_DAYS,
        "overdue_max_days": settings.REMINDER_OVERDUE_MAX_DAYS,
    }
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    timings = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            items = selectors.due_items(**args)
            timings.append(time.perf_counter() - started)
    result = {
        "due_items": len(items),
        "query_ms": statistics.median(timings) * 1000,
        "query_count": len(queries),
        "plan": selectors.due_items_query(**args).explain(analyze=True) if explain else "",
    }
    now = timezone.make_aware(datetime.combine(today, datetime.min.time()).replace(hour=9))
    for label in ("scan", "rescan"):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            scan = services.reminders_scan(now=now)
            result[f"{label}_ms"] = (time.perf_counter() - started) * 1000
        result[f"{label}_queries"] = len(queries)
        result[f"{label}_reminders"] = len(scan.reminders)
        result[f"{label}_notifications"] = scan.notifications
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", type=int, default=100_000)
    parser.add_argument(
        "--open-trains", type=int, default=500, help="open trains among them (default 500)"
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    options = parser.parse_args(argv)
    if not options.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The benchmark runs on PostgreSQL: give a postgres:// URL.")

    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = options.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasemgr.settings")
    recreate_database(options.database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    started = time.perf_counter()
    made = build(phases=options.phases, open_trains=options.open_trains, today=today)
    built_s = time.perf_counter() - started
    print(
        f"built {made['phases']:,} phases, {made['trains']:,} trains, "
        f"({options.open_trains} open), {made['milestones']:,} milestones, "
        f"{made['criteria']:,} criteria in {built_s:.1f}s"
    )
    result = measure(today=today)
    print(
        f"scan query: {result['query_ms']:.1f} ms (median of 5, warm), "
        f"{result['query_count']} query, {result['due_items']} due items"
    )
    print("plan:\n  " + result["plan"].replace("\n", "\n  "))
    print(
        f"whole scan: {result['scan_ms']:.0f} ms, {result['scan_queries']} queries, "
        f"{result['scan_reminders']} reminders, {result['scan_notifications']} outbox rows"
    )
    print(
        f"second scan the same day: {result['rescan_ms']:.1f} ms, "
        f"{result['rescan_queries']} queries, {result['rescan_reminders']} reminders"
    )
    if not options.keep:
        drop_database(options.database_url)


if __name__ == "__main__":
    main()
