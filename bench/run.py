"""`make bench`: build the dataset on a separate PostgreSQL database and measure, in one
run, the pages against the Django admin on the same rows and against a hello-world floor,
then the reminder scan over 100,000 and 1,000,000 phases (bench/reminder_scan.py, on a
database of its own).

Usage: python -m bench.run [--scale full|small] [--requests N] [--no-load] [--no-scan]
Writes bench/RESULTS.md and bench/results.json (or --out DIR). Never asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess  # nosec B404 - starts gunicorn and wrk with fixed arguments
import sys
import time
import urllib.request
from pathlib import Path

BENCH_DB = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/releasemgr_bench_pages"
)
# The scan's database: the same server, a name of its own (dropped and created again).
SCAN_DB = os.environ.get(
    "BENCH_REMINDERS_DATABASE_URL", BENCH_DB.rsplit("/", 1)[0] + "/releasemgr_bench_reminders"
)
os.environ["DATABASE_URL"] = BENCH_DB
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

ROOT = Path(__file__).resolve().parent.parent

import django  # noqa: E402 - after the settings are chosen above

django.setup()  # bench.insight's models need the apps loaded (no database is opened here)

from bench import insight  # noqa: E402


def _recreate_database() -> None:
    import psycopg

    name = BENCH_DB.rsplit("/", 1)[1]
    admin_url = BENCH_DB.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _pages(ds) -> dict[str, tuple[str, str]]:
    """label -> (user, url)."""
    return {
        "a_hello": ("manager", "/bench/hello/"),
        "b_admin_releases": (
            "admin",
            f"/admin/applications/applicationrelease/?train__id__exact={ds.big_train_id}&all=",
        ),
        "c_admin_trains": ("admin", "/admin/trains/releasetrain/"),
        "d_dashboard": ("manager", f"/trains/{ds.big_train_id}/"),
        "e_trains_list": ("manager", "/trains/"),
        "f_inbox": ("executive", "/approvals/"),
        "g_calendar": ("manager", f"/calendar/?month={ds.month:%Y-%m}"),
        **insight.pages(),  # the portfolio and the metrics (bench/insight.py)
    }


def measure_in_process(ds, requests: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    User = get_user_model()
    clients = {}
    for name in sorted({user for user, _ in _pages(ds).values()}):
        client = Client()
        client.force_login(User.objects.get(username=name))
        clients[name] = client
    pages = _pages(ds)
    results = {}
    for label, (user, url) in pages.items():
        with CaptureQueriesContext(connection) as ctx:
            response = clients[user].get(url)
        assert response.status_code == 200, (label, response.status_code)  # nosec B101 - a benchmark check, never run optimised
        results[label] = {
            "url": url,
            "user": user,
            "queries": len(ctx.captured_queries),
            "bytes": len(response.content),
            "times": [],
        }
        for _ in range(5):  # warm-up
            clients[user].get(url)
    for _ in range(requests):  # interleaved, so drift hits every page alike
        for label, (user, url) in pages.items():
            started = time.perf_counter()
            clients[user].get(url)
            results[label]["times"].append((time.perf_counter() - started) * 1000)
    for row in results.values():
        times = sorted(row.pop("times"))
        row["median_ms"] = round(statistics.median(times), 2)
        row["p90_ms"] = round(times[int(len(times) * 0.9) - 1], 2)
        row["requests"] = len(times)
    return results


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session_cookie(username: str) -> str:
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "releasemgr.auth.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


@contextlib.contextmanager
def _gunicorn(*, documented: bool = False):
    """gunicorn serving bench.wsgi on a free port; yields the port. `documented`: with
    gunicorn.conf.py as production runs it (its worker count, WEB_CONCURRENCY, default
    2, and its worker recycling); else 2 sync workers that are never recycled."""
    port = _free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.settings", LOG_LEVEL="WARNING")
    command = [sys.executable, "-m", "gunicorn", "bench.wsgi", "--bind", f"127.0.0.1:{port}"]
    if documented:
        command += ["--config", str(ROOT / "gunicorn.conf.py")]
    else:
        command += ["--workers", "2", "--worker-class", "sync", "--log-level", "warning"]
        # gunicorn.conf.py recycles workers every ~1,000 requests: not mid-measure
        command += ["--max-requests", "0"]
    server = subprocess.Popen(  # nosec B603 - fixed arguments
        command, cwd=ROOT, env=env, start_new_session=True
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def _warm(port: int, requests: list[tuple[str, str]], times: int = 6) -> None:
    """Each worker ready, with its templates and queries compiled."""
    for cookie, url in requests:
        for _ in range(times):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{url}", headers={"Cookie": cookie}
            )
            for _ in range(50):
                try:
                    urllib.request.urlopen(request, timeout=30).read()  # nosec B310 - a URL to 127.0.0.1 built here
                    break
                except OSError:
                    time.sleep(0.2)


def _wrk(wrk: str, args: list[str]) -> dict:
    out = subprocess.run(  # nosec B603 - fixed arguments
        [wrk, "--latency", *args], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    total = re.search(r"(\d+) requests in", out)
    return {
        "rps": rps,
        "requests": int(total.group(1)) if total else None,
        "p50": lat.get("50"),
        "p90": lat.get("90"),
        "p99": lat.get("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(n) for n in sockets.groups()) if sockets else 0,
    }


def measure_under_load(ds, seconds: int) -> dict:
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    with _gunicorn() as port:
        cookies = {u: _session_cookie(u) for u in {user for user, _ in _pages(ds).values()}}
        _warm(port, [(cookies[user], url) for user, url in _pages(ds).values()])
        results = {}
        for label, (user, url) in _pages(ds).items():
            results[label] = _wrk(
                wrk,
                ["-t2", "-c4", f"-d{seconds}s", "-H", f"Cookie: {cookies[user]}"]
                + [f"http://127.0.0.1:{port}{url}"],
            )
        return results


CAPACITY_CONNECTIONS = (10, 50, 200)
TICK_CRITERIA = 20


def _tick_target() -> tuple[int, str, list[int]]:
    """A construction train of the manager's with TICK_CRITERIA manual criteria of its
    construction phase: what the mix's state changes tick and untick."""
    from trains.choices import PhaseKind, TrainState
    from trains.models import ExitCriterion, ReleaseTrain

    train = (
        ReleaseTrain.objects.filter(
            state=TrainState.CONSTRUCTION, primary_manager__username="manager"
        )
        .order_by("id")
        .first()
    )
    ExitCriterion.objects.bulk_create(
        ExitCriterion(
            train=train, phase=PhaseKind.CONSTRUCTION, description=f"Load check {i}", required=False
        )
        for i in range(TICK_CRITERIA)
    )
    ids = list(
        train.criteria.filter(description__startswith="Load check").values_list("id", flat=True)
    )
    return train.pk, train.state, ids


def measure_capacity(ds, seconds: int) -> dict:
    """The realistic mix (bench/mix.lua) at 10, 50 and 200 connections on gunicorn as
    gunicorn.conf.py runs it: req/s, latency, errors."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    from django.middleware.csrf import _get_new_csrf_string

    train_pk, state, criteria = _tick_target()
    pages = _pages(ds)
    dashboard, listing, inbox = (pages[k][1] for k in ("d_dashboard", "e_trains_list", "f_inbox"))
    manager, executive = _session_cookie("manager"), _session_cookie("executive")
    csrf = _get_new_csrf_string()
    workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
    with _gunicorn(documented=True) as port:
        _warm(port, [(manager, dashboard), (manager, listing), (executive, inbox)], 3 * workers)
        results = {"workers": workers, "seconds": seconds, "runs": []}
        for connections in CAPACITY_CONNECTIONS:
            # The requests the last run left queued (wrk stops, the workers do not): one
            # more page returns once they are served, so each run starts on idle workers.
            _warm(port, [(manager, dashboard)], 1)
            row = _wrk(
                wrk,
                [
                    f"-t{min(2, connections)}",
                    f"-c{connections}",
                    f"-d{seconds}s",
                    "--timeout",
                    "60s",
                    "-s",
                    str(ROOT / "bench" / "mix.lua"),
                    f"http://127.0.0.1:{port}/",
                    "--",
                    dashboard,
                    listing,
                    inbox,
                    f"/trains/{train_pk}/criteria",
                    ",".join(map(str, criteria)),
                    state,
                    manager,
                    executive,
                    csrf,
                ],
            )
            row["connections"] = connections
            results["runs"].append(row)
            print(
                f"capacity: {connections} connections: {row['rps']} req/s, p50 {row['p50']}, "
                f"p99 {row['p99']}, errors {row['non_2xx'] + row['socket_errors']}",
                flush=True,
            )
    from trains.models import TrainEvent

    results["state_changes"] = TrainEvent.objects.filter(
        train_id=train_pk, kind="criterion"
    ).count()
    return results


def measure_scan(scale: str, out: Path) -> dict:
    """The reminder scan matrix (bench/reminder_scan.py), run as its own process on its
    own database: 100,000 and 1,000,000 phases, 1 % and 10 % due (small: 2,000 and
    20,000)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "scan.json"
    command = [sys.executable, str(ROOT / "bench" / "reminder_scan.py"), "--json", str(path)]
    command += ["--database-url", SCAN_DB]
    if scale == "small":
        command += ["--small", "--scans", "1"]
    subprocess.run(command, cwd=ROOT, check=True)  # nosec B603 - fixed arguments
    result = json.loads(path.read_text())
    path.unlink()
    return result


GOALS = {
    "d/b": ("dashboard vs admin, the same 200 rows", "d_dashboard", "b_admin_releases", 0.25),
    "e/c": ("trains list vs admin trains", "e_trains_list", "c_admin_trains", 0.5),
    "f/b": ("inbox vs admin 200 rows", "f_inbox", "b_admin_releases", 0.5),
    "g/b": ("calendar vs admin 200 rows", "g_calendar", "b_admin_releases", 0.5),
    "d/a": ("dashboard vs hello (the floor)", "d_dashboard", "a_hello", None),
    **insight.GOALS,
}
SCAN_GOALS = {"find_sql_ms": 20.0, "scan_ms": 500.0, "ratio": 2.0, "max_queries": 10}


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )


def _postgres() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def write_results(
    out: Path,
    scale: str,
    ds,
    in_process: dict,
    load: dict,
    scan: dict,
    meta: dict,
    *,
    capacity: dict,
    grown: dict,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "scale": scale,
        **meta,
        "seed_seconds": round(ds.seconds, 1),
        "in_process": in_process,
        "load": load,
        "scan": scan,
        "capacity": capacity,
        "growth": grown,
    }
    med = {k: v["median_ms"] for k, v in in_process.items()}
    data["ratios"] = {
        key: {
            "what": what,
            "ratio": round(med[top] / med[bottom], 3),
            "goal": goal,
            "met": None if goal is None else med[top] / med[bottom] <= goal,
        }
        for key, (what, top, bottom, goal) in GOALS.items()
    }
    (out / "results.json").write_text(json.dumps(data, indent=2, default=str) + "\n")

    def mark(met) -> str:
        return "—" if met is None else ("met" if met else "**missed**")

    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench{'-small' if scale == 'small' else ''}` (bench/run.py): "
        "never edited by hand.",
        "",
        "| | |",
        "| --- | --- |",
        f"| date | {data['date']} |",
        f"| machine | {data['machine']} |",
        f"| database | {data['database']} |",
        f"| load average (1, 5, 15 min) | at start {data['load_start']}; "
        f"at the end {data['load_end']} |",
        f"| scale | {scale}; pages dataset built in {data['seed_seconds']} s (bulk inserts) |",
        "",
        "## Pages",
        "",
        "In process: Django test client, after 5 warm-up requests, every page in turn "
        "(interleaved) so that drift hits all alike. Under load: gunicorn, 2 sync workers, "
        "`wrk -t2 -c4` on 127.0.0.1, the pages one after the other.",
        "",
        "| page | queries | median ms | p90 ms | requests | bytes "
        "| req/s (load) | p50 | p90 | p99 | non-2xx |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, row in in_process.items():
        w = load.get(label, {})
        lines.append(
            f"| {label} | {row['queries']} | {row['median_ms']} | {row['p90_ms']} | "
            f"{row['requests']} | {row['bytes']} | {w.get('rps', '—')} | {w.get('p50', '—')} "
            f"| {w.get('p90', '—')} | {w.get('p99', '—')} | {w.get('non_2xx', '—')} |"
        )
    if "skipped" in load:
        lines += ["", f"Under load: skipped ({load['skipped']})."]
    lines += [
        "",
        "## Ratios of in-process medians",
        "",
        "| ratio | what | value | goal | |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for key, r in data["ratios"].items():
        goal = "—" if r["goal"] is None else f"≤ {r['goal']}"
        lines.append(f"| {key} | {r['what']} | {r['ratio']} | {goal} | {mark(r['met'])} |")
    lines += _growth_lines(grown) + _capacity_lines(capacity)
    lines += ["", "## Reminder scan", ""]
    if "skipped" in scan:
        lines.append(f"Skipped: {scan['skipped']}.")
    else:
        lines += [
            "bench/reminder_scan.py on a database of its own: N phases (N/4 trains, most of "
            "them history), a share of them due today. Find: the scan's query alone (SQL "
            "time by EXPLAIN ANALYZE, TIMING OFF; and from Python, building the items; "
            "medians of 5, warm). Whole scan: finding what is due and writing one reminder "
            "per due item and kind, median of "
            f"{scan['runs'][0].get('scans', 3)} from nothing written. Fan-out: the "
            "dispatcher's first step, its own task, writing an outbox row per person told "
            "(once). Again: a second scan the same day (after ANALYZE, as autovacuum would "
            "have run by the next beat).",
            "",
            "| phases | due | due items | find SQL ms | find ms | find queries "
            "| whole scan ms | queries | reminders | fan-out ms | outbox rows | again ms "
            "| again queries |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
            "| ---: |",
        ]
        for run in scan["runs"]:
            fan_out = f"{run['fan_out_ms']:.0f}" if "fan_out_ms" in run else "—"
            lines.append(
                f"| {run['phases']:,} | {run['due_share']:.0%} | {run['due_items']:,} | "
                f"{run['find_sql_ms']:.1f} | {run['find_ms']:.1f} | {run['find_queries']} | "
                f"{run['scan_ms']:.0f} | {run['scan_queries']} | {run['reminders']:,} | "
                f"{fan_out} | {run['notifications']:,} | {run['rescan_ms']:.1f} | "
                f"{run['rescan_queries']} |"
            )
        lines += [
            "",
            "10 times the phases, the same number due:",
            "",
            "| from | to | find SQL | whole scan | goal |",
            "| --- | --- | ---: | ---: | --- |",
        ]
        for ratio in scan["ratios"]:
            met = ratio["find_sql"] < SCAN_GOALS["ratio"] and ratio["scan"] < SCAN_GOALS["ratio"]
            lines.append(
                f"| {ratio['from']} | {ratio['to']} | ×{ratio['find_sql']:.2f} | "
                f"×{ratio['scan']:.2f} | < ×{SCAN_GOALS['ratio']:.0f}: {mark(met)} |"
            )
        goal_runs = [r for r in scan["runs"] if r["phases"] >= 1_000_000 and r["due_share"] <= 0.01]
        for run in goal_runs:
            lines += [
                "",
                f"Goal at {run['phases']:,} phases, {run['due_share']:.0%} due: find under "
                f"{SCAN_GOALS['find_sql_ms']:.0f} ms in SQL ({run['find_sql_ms']:.1f} ms: "
                f"{mark(run['find_sql_ms'] < SCAN_GOALS['find_sql_ms'])}), one query "
                f"({run['find_queries']}: {mark(run['find_queries'] == 1)}), whole task under "
                f"{SCAN_GOALS['scan_ms']:.0f} ms ({run['scan_ms']:.0f} ms: "
                f"{mark(run['scan_ms'] < SCAN_GOALS['scan_ms'])}).",
            ]
    (out / "RESULTS.md").write_text("\n".join(lines) + "\n")


def _growth_lines(grown: dict) -> list[str]:
    lines = ["", "## Growth", ""]
    if "skipped" in grown:
        return lines + [f"Skipped: {grown['skipped']}."]
    dash = grown["dashboard"]
    lines += [
        "bench/growth.py on the same database, emptied and built again (trains like the "
        "dataset's, 10 releases each): medians of "
        "in-process requests, interleaved at each size. The dashboard shows every release "
        "of its train (at most linear growth allowed); the list shows 25 trains whatever "
        "the table holds (no growth allowed). A tab counts and pages through the first "
        "1,000 trains in its order (trains.selectors.lists.LIST_CAP), so its last page is "
        "at most the 40th.",
        "",
        "| dashboard: releases on the train | queries | median ms | ×releases | ×time |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in dash:
        lines.append(
            f"| {row['releases']:,} | {row['queries']} | {row['median_ms']} | "
            f"×{row['releases'] / dash[0]['releases']:g} | "
            f"×{row['median_ms'] / dash[0]['median_ms']:.2f} |"
        )
    lists = grown["list"]
    lines += [
        "",
        "| trains in the table | list, needs tab ms | list, open tab page 1 ms | "
        "open tab, last page ms | dashboard (fixed train) ms | queries (needs, open) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in lists:
        lines.append(
            f"| {row['trains']:,} | {row['needs']['median_ms']} | {row['open']['median_ms']} | "
            f"{row['open_last']['median_ms']} | {row['dashboard']['median_ms']} | "
            f"{row['needs']['queries']}, {row['open']['queries']} |"
        )
    first, last = lists[0], lists[-1]
    lines += [
        "",
        f"From {first['trains']:,} to {last['trains']:,} trains "
        f"(×{last['trains'] / first['trains']:.0f}): needs tab "
        f"×{last['needs']['median_ms'] / first['needs']['median_ms']:.2f}, open tab "
        f"×{last['open']['median_ms'] / first['open']['median_ms']:.2f}, last page "
        f"×{last['open_last']['median_ms'] / first['open_last']['median_ms']:.2f}, dashboard "
        f"×{last['dashboard']['median_ms'] / first['dashboard']['median_ms']:.2f}.",
    ]
    return lines


def _capacity_lines(capacity: dict) -> list[str]:
    lines = ["", "## Capacity", ""]
    if "skipped" in capacity:
        return lines + [f"Skipped: {capacity['skipped']}."]
    lines += [
        f"gunicorn as gunicorn.conf.py runs it ({capacity['workers']} sync workers, "
        "recycled every ~1,000 requests), `wrk` with bench/mix.lua for "
        f"{capacity['seconds']} s at each number of connections: 60 % dashboard (the big "
        "train's), 25 % trains list, "
        "10 % approval inbox, 5 % ticking or unticking an exit "
        "criterion through the page (htmx POST; "
        f"{capacity['state_changes']} ticks written in all). Errors: non-2xx/3xx answers "
        "and socket errors (timeout 60 s).",
        "",
        "| connections | requests | req/s | p50 | p90 | p99 | errors |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in capacity["runs"]:
        lines.append(
            f"| {row['connections']} | {row['requests']} | {row['rps']} | {row['p50']} | "
            f"{row['p90']} | {row['p99']} | {row['non_2xx'] + row['socket_errors']} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=["full", "small"], default="full")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--load-seconds", type=int, default=5)
    parser.add_argument("--no-load", action="store_true")
    parser.add_argument("--no-scan", action="store_true")
    parser.add_argument("--capacity-seconds", type=int, default=30)
    parser.add_argument("--no-capacity", action="store_true")
    parser.add_argument("--growth-requests", type=int, default=20)
    parser.add_argument("--no-growth", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench"))
    args = parser.parse_args()

    load_start = _load()
    _recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench import dataset

    ds = dataset.build(dataset.FULL if args.scale == "full" else dataset.SMALL)
    print(f"dataset ({args.scale}) built in {ds.seconds:.1f} s", flush=True)
    seconds = insight.build(insight.FULL if args.scale == "full" else insight.SMALL)
    print(f"portfolio and metrics history built in {seconds:.1f} s", flush=True)
    in_process = measure_in_process(ds, args.requests)
    for label, row in in_process.items():
        print(
            f"{label:18} {row['queries']:3} queries  median {row['median_ms']:8.2f} ms  "
            f"p90 {row['p90_ms']:8.2f} ms",
            flush=True,
        )
    load = {"skipped": "--no-load"} if args.no_load else measure_under_load(ds, args.load_seconds)
    capacity = (
        {"skipped": "--no-capacity"}
        if args.no_capacity
        else measure_capacity(ds, args.capacity_seconds)
    )
    # Last on this database: it empties the dataset and builds it again size by size.
    if args.no_growth:
        grown = {"skipped": "--no-growth"}
    else:
        from bench import growth

        grown = growth.run(small=args.scale == "small", requests=args.growth_requests)
    meta = {"machine": _machine(), "database": _postgres(), "load_start": load_start}
    from django.db import connections

    connections.close_all()
    scan = {"skipped": "--no-scan"} if args.no_scan else measure_scan(args.scale, Path(args.out))
    meta["load_end"] = _load()
    write_results(
        Path(args.out), args.scale, ds, in_process, load, scan, meta, capacity=capacity, grown=grown
    )
    print(f"wrote {args.out}/RESULTS.md (load average {meta['load_end']})", flush=True)


if __name__ == "__main__":
    main()
