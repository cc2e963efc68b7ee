"""`make bench`: build the dataset on a separate PostgreSQL database and measure, in one
run, the pages against the Django admin on the same rows and against a hello-world floor.

Usage: python -m bench.run [--scale full|small] [--requests N] [--no-load]
Writes bench/RESULTS.md and bench/results.json (or --out DIR). Never asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess  # nosec B404
import sys
import time
from pathlib import Path

BENCH_DB = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/releasemgr_bench_pages"
)
os.environ["DATABASE_URL"] = BENCH_DB
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

ROOT = Path(__file__).resolve().parent.parent


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
    }


def measure_in_process(ds, requests: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    User = get_user_model()
    clients = {}
    for name in ("manager", "executive", "admin"):
        client = Client()
        client.force_login(User.objects.get(username=name))
        clients[name] = client
    pages = _pages(ds)
    results = {}
    for label, (user, url) in pages.items():
        with CaptureQueriesContext(connection) as ctx:
            response = clients[user].get(url)
        assert response.status_code == 200, (label, response.status_code)  # nosec B101
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
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def measure_under_load(ds, seconds: int) -> dict:
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    port = _free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.settings")
    # B603: our interpreter, fixed argv
    server = subprocess.Popen(  # nosec B603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.wsgi",
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        cookies = {u: _session_cookie(u) for u in ("manager", "executive", "admin")}
        results = {}
        for label, (user, url) in _pages(ds).items():
            # B603: wrk from PATH, fixed argv
            out = subprocess.run(  # nosec B603
                [
                    wrk,
                    "-t2",
                    "-c4",
                    f"-d{seconds}s",
                    "--latency",
                    "-H",
                    f"Cookie: {cookies[user]}",
                    f"http://127.0.0.1:{port}{url}",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            lat = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", out, re.M))
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            results[label] = {
                "rps": rps,
                "p50": lat.get("50"),
                "p90": lat.get("90"),
                "p99": lat.get("99"),
                "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            }
        return results
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def measure_scan() -> dict:
    """The reminder scan over this dataset's phases (bench/reminder_scan.py measures it
    alone at 100,000 phases and more)."""
    from django.utils import timezone

    from bench import reminder_scan

    result = reminder_scan.measure(today=timezone.localdate(), repeat=5, explain=False)
    result.pop("plan", None)
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}


def write_results(out: Path, scale: str, ds, in_process: dict, load: dict, scan: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    data = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "scale": scale,
        "machine": machine,
        "seed_seconds": round(ds.seconds, 1),
        "in_process": in_process,
        "load": load,
        "scan": scan,
    }
    med = {k: v["median_ms"] for k, v in in_process.items()}
    ratios = {
        "d/b dashboard vs admin 200 rows": med["d_dashboard"] / med["b_admin_releases"],
        "e/c trains list vs admin trains": med["e_trains_list"] / med["c_admin_trains"],
        "f/b inbox vs admin 200 rows": med["f_inbox"] / med["b_admin_releases"],
        "g/b calendar vs admin 200 rows": med["g_calendar"] / med["b_admin_releases"],
        "d/a dashboard vs hello": med["d_dashboard"] / med["a_hello"],
    }
    data["ratios"] = {k: round(v, 3) for k, v in ratios.items()}
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    lines = [
        "# Benchmark results",
        "",
        f"- date: {data['date']}",
        f"- machine: {machine}",
        f"- scale: {scale}",
        f"- dataset built in {data['seed_seconds']} s (bulk inserts)",
        "",
        "## In process (Django test client, after warm-up, interleaved)",
        "",
        "| page | queries | median ms | p90 ms | requests | bytes |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, row in in_process.items():
        lines.append(
            f"| {label} | {row['queries']} | {row['median_ms']} | {row['p90_ms']} | "
            f"{row['requests']} | {row['bytes']} |"
        )
    lines += ["", "## Ratios of medians (goal: d/b ≤ 0.25, e/c ≤ 0.5, f/b and g/b ≤ 0.5)", ""]
    lines += [f"- {k}: {v}" for k, v in data["ratios"].items()]
    lines += ["", "## Under load (gunicorn, 2 sync workers; wrk -t2 -c4 on 127.0.0.1)", ""]
    if "skipped" in load:
        lines.append(f"Skipped: {load['skipped']}")
    else:
        lines += [
            "| page | req/s | p50 | p90 | p99 | non-2xx |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for label, row in load.items():
            lines.append(
                f"| {label} | {row['rps']} | {row['p50']} | {row['p90']} | "
                f"{row['p99']} | {row['non_2xx']} |"
            )
    lines += ["", "## Reminder scan", ""]
    lines += [f"- {k}: {v}" for k, v in scan.items()]
    (out / "RESULTS.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=["full", "small"], default="full")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--load-seconds", type=int, default=5)
    parser.add_argument("--no-load", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench"))
    args = parser.parse_args()

    _recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench import dataset

    ds = dataset.build(dataset.FULL if args.scale == "full" else dataset.SMALL)
    print(f"dataset ({args.scale}) built in {ds.seconds:.1f} s", flush=True)
    in_process = measure_in_process(ds, args.requests)
    for label, row in in_process.items():
        print(
            f"{label:18} {row['queries']:3} queries  median {row['median_ms']:8.2f} ms  "
            f"p90 {row['p90_ms']:8.2f} ms",
            flush=True,
        )
    load = {"skipped": "--no-load"} if args.no_load else measure_under_load(ds, args.load_seconds)
    scan = measure_scan()
    write_results(Path(args.out), args.scale, ds, in_process, load, scan)
    print(f"wrote {args.out}/RESULTS.md", flush=True)


if __name__ == "__main__":
    main()
