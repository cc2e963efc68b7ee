"""Benchmark of the reminder scan on a big history (not a test: it asserts no time).

Builds N phases (N/4 trains) on a PostgreSQL database of its own with COPY, a given share
of them due for a reminder today, then measures the scan's find query (its SQL time by
EXPLAIN ANALYZE and its time from Python, one query) and the whole task: writing one
reminder per due item and kind; then the dispatcher's fan-out of those into an outbox row
per person (its own task, timed apart), and a second scan the same day.

    make bench-reminders          # the matrix: 100k and 1M phases, 1 % and 10 % due
    .venv/bin/python bench/reminder_scan.py --phases 100000 --due 0.01 --plan
    BENCH_REMINDERS_DATABASE_URL=postgres://postgres@127.0.0.1:5432/other make bench-reminders

The history: most trains closed or cancelled over ten years. Open trains: the due ones
(one item each: 80 % their current phase's end, 10 % a manual exit criterion, 10 % a
milestone; 7, 2 or 1 days ahead, or overdue by 1 to 10 days, which escalates from the
third day) and 2 % more with nothing due within a week. Every train has what train_create gives
it (view and manage for its manager, view for the QA and release-engineer groups),
approvers for both gates, and, when in construction or later, two application releases.

The database (default releasemgr_bench_reminders) is dropped and created again; never
point it at a database you care about.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/releasemgr_bench_reminders"
CANCELLED_SHARE = 0.05
OPEN_NOT_DUE_SHARE = 0.02  # open trains with nothing due today, as a share of all trains
MATRIX = [(100_000, 0.01), (100_000, 0.10), (1_000_000, 0.01), (1_000_000, 0.10)]
SMALL_MATRIX = [(2_000, 0.01), (2_000, 0.10), (20_000, 0.01), (20_000, 0.10)]


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name in {"postgres", "releasemgr", "template0", "template1"}:
        raise SystemExit(f"Refusing to drop database {name!r}; name one for the benchmark.")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def _copy(model, columns: list[str], rows) -> int:
    """COPY rows (tuples in `columns` order) into the model's table; returns the count."""
    from django.db import connection

    table = model._meta.db_table
    # columns not given that may not be NULL get their default, as a new instance would
    # (fields added later, e.g. a train's health override, need no change here)
    extra = [
        (f.column, f.get_default())
        for f in model._meta.concrete_fields
        if f.column not in columns and not f.null and not f.primary_key
        if f.get_default() is not None
    ]
    cols = ", ".join(f'"{c}"' for c in [*columns, *(c for c, _ in extra)])
    defaults = [v for _, v in extra]
    n = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
            for row in rows:
                # choices are Enum members: COPY wants their values
                copy.write_row([v.value if isinstance(v, Enum) else v for v in row] + defaults)
                n += 1
        if "id" in columns:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # nosec B608 - table names come from our own models, not input
                f'COALESCE((SELECT MAX(id) FROM "{table}"), 1))'
            )
    return n


def _clear() -> None:
    """Empty every table the build fills (the schema stays)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE trains_releasetrain, applications_application, auth_user "
            "RESTART IDENTITY CASCADE"
        )


def build(*, phases: int, due_share: float, today: date, seed: int = 42) -> dict[str, int]:
    """Fill an empty schema: phases//4 trains, round(phases * due_share) items due today."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.db import connection, transaction
    from django.utils import timezone

    from applications.models import Application, ApplicationRelease
    from approvals.models import ApprovalRequirement
    from releasemgr import roles
    from trains import access
    from trains.choices import PHASE_ORDER, TrainState, TrainType
    from trains.models import (
        ExitCriterion,
        Milestone,
        Phase,
        ReleaseTrain,
        ReleaseTrainGroupObjectPermission,
        ReleaseTrainUserObjectPermission,
    )

    rng = random.Random(seed)  # nosec B311 - benchmark data, not security
    User = get_user_model()
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in roles.ALL_ROLES}

    def people(prefix: str, n: int, role: str) -> list[int]:
        made = []
        for i in range(n):
            user = User.objects.create(
                username=f"{prefix}-{i}", email=f"{prefix}-{i}@example.com", first_name=prefix
            )
            user.groups.add(groups[role])
            made.append(user.pk)
        return made

    managers = people("manager", 20, roles.RELEASE_MANAGERS)
    people("executive", 3, roles.EXECUTIVES)
    people("qa", 3, roles.QA)
    people("engineer", 2, roles.RELEASE_ENGINEERS)
    owners = people("owner", 10, roles.PRODUCT_OWNERS)
    apps = [
        Application.objects.create(name=f"App {i}", product_owner_id=owners[i % len(owners)]).pk
        for i in range(20)
    ]
    view = Permission.objects.get(codename=access.VIEW_PERM).pk
    manage = Permission.objects.get(codename=access.MANAGE_PERM).pk

    n_trains = max(1, phases // len(PHASE_ORDER))
    n_due = min(n_trains, round(phases * due_share))
    n_open = min(n_trains, n_due + max(1, round(n_trains * OPEN_NOT_DUE_SHARE)))
    numbers = list(range(n_trains))
    rng.shuffle(numbers)
    due_ids = set(numbers[:n_due])
    open_ids = set(numbers[:n_open])
    noon = datetime(today.year, today.month, today.day, 12, tzinfo=timezone.get_current_timezone())
    now = timezone.now()
    open_states = [
        TrainState.SCOPING,
        TrainState.CONSTRUCTION,
        TrainState.VERIFICATION,
        TrainState.DEPLOYMENT,
    ]
    gate_states = {1: TrainState.DEVELOPMENT_APPROVAL, 2: TrainState.EXECUTIVE_APPROVAL}
    soon = [7, 2, 1]
    # more than a week ahead: nearer, a deadline with no reminder yet is caught up on
    not_due = list(range(8, 30))

    def at(day: date) -> datetime:
        return noon + timedelta(days=(day - today).days)

    def due_day() -> date:
        if rng.random() < 0.7:
            return today + timedelta(days=rng.choice(soon))
        return today - timedelta(days=rng.randint(1, 10))

    trains, phase_rows, milestones, criteria = [], [], [], []
    user_perms, group_perms, requirements, releases = [], [], [], []
    for number in range(n_trains):
        pk = number + 1
        manager = rng.choice(managers)
        what = ""
        if number in open_ids:
            current = rng.randrange(len(PHASE_ORDER))
            state = open_states[current]
            if current in gate_states and rng.random() < 0.3:
                state = gate_states[current]
            if number in due_ids:
                r = rng.random()
                what = "phase" if r < 0.8 else "criterion" if r < 0.9 else "milestone"
            end = due_day() if what == "phase" else today + timedelta(days=rng.choice(not_due))
            start = end - timedelta(days=7 * (current + 1))
        else:
            state = TrainState.CANCELLED if rng.random() < CANCELLED_SHARE else TrainState.CLOSED
            start = today - timedelta(days=rng.randint(40, 3650))
            current = len(PHASE_ORDER) if state == TrainState.CLOSED else rng.randint(0, 3)
        ends = [start + timedelta(days=7 * (i + 1)) for i in range(len(PHASE_ORDER))]
        final = state in (TrainState.CLOSED, TrainState.CANCELLED)
        trains.append(
            (
                pk,
                f"Bench {number}",
                "",
                TrainType.MINOR,
                manager,
                start,
                ends[-1] + timedelta(days=1),
                state,
                1 if current >= 1 else 0,
                1 if current >= 2 else 0,
                now if state in gate_states.values() else None,
                manager,
                now,
                now,
                at(ends[-1]) if final else None,
            )
        )
        for i, kind in enumerate(PHASE_ORDER):
            phase_rows.append(
                (
                    pk,
                    kind,
                    i,
                    ends[i],
                    at(start + timedelta(days=7 * i)) if i <= current else None,
                    at(ends[i]) if i < current else None,
                    not final,
                )
            )
        if what == "milestone":
            milestone_due, reached = due_day(), None
        elif number in open_ids:
            milestone_due, reached = today + timedelta(days=rng.randint(40, 70)), None
        else:
            milestone_due = ends[1]
            reached = None if rng.random() < 0.33 else at(ends[1])
        milestones.append(
            (pk, "Code freeze", milestone_due, reached, manager if reached else None, not final)
        )
        if what == "criterion":
            criteria.append(
                (pk, PHASE_ORDER[current], "Sign-off", True, "manual", due_day(), None, None, True)
            )
        elif rng.random() < 0.25:
            met = None if state == TrainState.CANCELLED else at(ends[2])
            if number in open_ids:
                met = None if current < 2 else at(ends[2])
                criteria.append(
                    (
                        pk,
                        "verification",
                        "Load test",
                        True,
                        "manual",
                        ends[2] + timedelta(40),
                        met,
                        manager if met else None,
                        not final,
                    )
                )
            else:
                criteria.append(
                    (
                        pk,
                        "verification",
                        "Load test",
                        True,
                        "manual",
                        ends[2] - timedelta(2),
                        met,
                        manager if met else None,
                        not final,
                    )
                )
        user_perms += [(manager, manage, pk), (manager, view, pk)]
        group_perms += [
            (groups[roles.QA].pk, view, pk),
            (groups[roles.RELEASE_ENGINEERS].pk, view, pk),
        ]
        requirements += [
            (pk, "development", rng.choice(managers), None, 1, now),
            (pk, "executive", None, groups[roles.EXECUTIVES].pk, 1, now),
        ]
        if current >= 1:
            for k in range(2):
                releases.append((rng.choice(apps), f"{number}.{k}", pk, "planned", "", now, now))

    made = {}
    with transaction.atomic():
        made["trains"] = _copy(
            ReleaseTrain,
            [
                "id",
                "name",
                "purpose",
                "train_type",
                "primary_manager_id",
                "start_date",
                "end_date",
                "state",
                "development_round",
                "executive_round",
                "gate_opened_at",
                "created_by_id",
                "created_at",
                "updated_at",
                "closed_at",
            ],
            trains,
        )
        made["phases"] = _copy(
            Phase,
            [
                "train_id",
                "kind",
                "position",
                "planned_end",
                "actual_start",
                "actual_end",
                "train_open",
            ],
            phase_rows,
        )
        made["milestones"] = _copy(
            Milestone,
            ["train_id", "name", "due_date", "reached_at", "reached_by_id", "train_open"],
            milestones,
        )
        made["criteria"] = _copy(
            ExitCriterion,
            [
                "train_id",
                "phase",
                "description",
                "required",
                "rule",
                "due_date",
                "met_at",
                "met_by_id",
                "train_open",
            ],
            criteria,
        )
        _copy(
            ReleaseTrainUserObjectPermission,
            ["user_id", "permission_id", "content_object_id"],
            user_perms,
        )
        _copy(
            ReleaseTrainGroupObjectPermission,
            ["group_id", "permission_id", "content_object_id"],
            group_perms,
        )
        _copy(
            ApprovalRequirement,
            ["train_id", "gate", "user_id", "group_id", "required_approvals", "created_at"],
            requirements,
        )
        made["releases"] = _copy(
            ApplicationRelease,
            ["application_id", "version", "train_id", "state", "notes", "created_at", "updated_at"],
            releases,
        )
    with connection.cursor() as cursor:
        # VACUUM cannot run in a transaction (as in the test of this script)
        cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
    made["due_target"] = n_due
    made["open"] = n_open
    return made


def _truncate_reminders() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # the test of this script: check what waits first
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE trains_notification, trains_reminder RESTART IDENTITY CASCADE")


class QueryCounter:
    """Counts the statements run inside it (CaptureQueriesContext stops at 9,000); not
    savepoints, which a transaction.atomic() inside a test's transaction adds."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        from django.db import connection

        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)

    def __len__(self) -> int:
        return self.count


def measure(*, today: date, repeat: int = 5, scans: int = 3, plan: bool = False) -> dict:
    """The find query (SQL time by EXPLAIN ANALYZE and time from Python, warm, medians of
    `repeat`), then `scans` whole scans from nothing written (median; the scan writes one
    reminder per due item and kind), the dispatcher's fan-out of the last one into outbox
    rows (once), then a second scan the same day."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from trains.notifications import selectors, services

    args = {
        "today": today,
        "offsets": settings.REMINDER_OFFSETS_DAYS,
    }
    sql, params = selectors.due_items_query(**args).query.sql_with_params()
    sql_ms, find_ms = [], []
    plan_text = ""
    for _ in range(repeat):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, TIMING OFF) " + sql, params)
            lines = [row[0] for row in cursor.fetchall()]
        sql_ms.append(float(lines[-1].split(":")[1].split()[0]))
        with QueryCounter() as queries:
            started = time.perf_counter()
            items = selectors.due_items(**args)
            find_ms.append((time.perf_counter() - started) * 1000)
    if plan:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan_text = "\n".join(row[0] for row in cursor.fetchall())
    result = {
        "due_items": len(items),
        "find_sql_ms": statistics.median(sql_ms),
        "find_ms": statistics.median(find_ms),
        "find_queries": len(queries),
    }
    now = timezone.make_aware(datetime.combine(today, datetime.min.time()).replace(hour=9))
    times = []
    for _ in range(scans):
        _truncate_reminders()
        with QueryCounter() as queries:
            started = time.perf_counter()
            scan = services.reminders_scan(now=now)
            times.append((time.perf_counter() - started) * 1000)
    result.update(
        scans=scans,
        scan_ms=statistics.median(times),
        scan_queries=len(queries),
        reminders=len(scan.reminders),
    )
    # The dispatcher's first step, in its own task: an outbox row per person to tell.
    with QueryCounter() as queries:
        started = time.perf_counter()
        written = services.reminders_fan_out(now=now)
        result["fan_out_ms"] = (time.perf_counter() - started) * 1000
    result.update(fan_out_queries=len(queries), notifications=written)
    # The next beat comes minutes later: by then autovacuum has analyzed the reminders
    # (in a fresh table, the planner would still think there are none).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE trains_reminder")
    with QueryCounter() as queries:
        started = time.perf_counter()
        again = services.reminders_scan(now=now)
        result["rescan_ms"] = (time.perf_counter() - started) * 1000
    result.update(rescan_queries=len(queries), rescan_reminders=len(again.reminders))
    if plan:
        result["plan"] = plan_text
    return result


def _setup(database_url: str) -> None:
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The benchmark runs on PostgreSQL: give a postgres:// URL.")
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasemgr.settings")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    recreate_database(database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run_matrix(
    matrix: list[tuple[int, float]], *, database_url: str, scans: int = 3, plan: bool = False
) -> dict:
    """Build and measure each (phases, due share) in turn on one database; the ratios of
    10x more phases with the same number due."""
    from django.utils import timezone

    _setup(database_url)
    today = timezone.localdate()
    runs = []
    for phases, share in matrix:
        _clear()
        started = time.perf_counter()
        made = build(phases=phases, due_share=share, today=today)
        built_s = time.perf_counter() - started
        result = measure(today=today, scans=scans, plan=plan)
        run = {"phases": made["phases"], "due_share": share, "build_s": built_s, **result}
        runs.append(run)
        print(
            f"scan {made['phases']:>9,} phases {share:4.0%} due: built in {built_s:5.1f} s; "
            f"{result['due_items']:,} due, find {result['find_sql_ms']:.1f} ms SQL / "
            f"{result['find_ms']:.1f} ms ({result['find_queries']} query); whole scan "
            f"{result['scan_ms']:.0f} ms, {result['scan_queries']} queries, "
            f"{result['reminders']:,} reminders; fan-out at dispatch "
            f"{result['fan_out_ms']:.0f} ms, {result['fan_out_queries']} queries, "
            f"{result['notifications']:,} outbox rows; "
            f"again {result['rescan_ms']:.1f} ms, {result['rescan_queries']} queries",
            flush=True,
        )
        if plan:
            print("  " + result["plan"].replace("\n", "\n  "))
    # 10x more phases, the same number due: (N, 10 %) against (10 N, 1 %).
    ratios = []
    for small in runs:
        for big in runs:
            if (
                big["phases"] == 10 * small["phases"]
                and abs(big["due_share"] * 10 - small["due_share"]) < 1e-9
            ):
                ratios.append(
                    {
                        "from": f"{small['phases']:,} phases, {small['due_share']:.0%} due",
                        "to": f"{big['phases']:,} phases, {big['due_share']:.0%} due",
                        "find_sql": big["find_sql_ms"] / small["find_sql_ms"],
                        "scan": big["scan_ms"] / small["scan_ms"],
                    }
                )
    drop_database(database_url)
    return {"runs": runs, "ratios": ratios}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", type=int, help="one size (default: the matrix)")
    parser.add_argument("--due", type=float, default=0.01, help="share due with --phases")
    parser.add_argument("--small", action="store_true", help="the small matrix (CI)")
    parser.add_argument("--scans", type=int, default=3, help="whole scans to take the median of")
    parser.add_argument("--plan", action="store_true", help="print the find query's plan")
    parser.add_argument("--json", help="write the results there")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_REMINDERS_DATABASE_URL", os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
        ),
    )
    options = parser.parse_args(argv)
    if options.phases:
        matrix = [(options.phases, options.due)]
    else:
        matrix = SMALL_MATRIX if options.small else MATRIX
    result = run_matrix(
        matrix, database_url=options.database_url, scans=options.scans, plan=options.plan
    )
    for ratio in result["ratios"]:
        print(
            f"10x the phases, same number due ({ratio['from']} -> {ratio['to']}): "
            f"find SQL x{ratio['find_sql']:.2f}, whole scan x{ratio['scan']:.2f}"
        )
    if options.json:
        Path(options.json).write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
