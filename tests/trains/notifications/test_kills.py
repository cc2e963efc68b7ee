"""Workers killed with SIGKILL (the whole process group) in the reminder scan and in the
dispatch, on the real stack: Celery workers as processes on Redis, PostgreSQL, a real SMTP
server (aiosmtpd) counting what arrives by Message-ID.

Each run: reminders due today and events to announce; a worker is killed while its scan
waits inside its transaction, another while a mail it sent is accepted by the server but
not yet committed (the one window where at-least-once shows), and a third while it is
simply sending; a last worker finishes. Counted at the server: every expected mail
arrives, under its own stable Message-ID; a copy arrives only for a mail whose worker died
between the server's accept and the commit (at most one per such kill, with the same
Message-ID, so clients fold it; a plain kill while sending may hit that window too);
nothing waits for a requeue hour. Once with the tasks
asked for directly, once with two beat schedulers running at once.

FAULTS_TRAINS sets the size (default 60 trains due; `make faults` runs 400).
"""

from __future__ import annotations

import asyncio
import email
import os
import signal
import socket
import subprocess  # nosec B404 - starts celery with fixed arguments
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import time_machine
from aiosmtpd.controller import Controller
from celery import Celery
from django.contrib.auth.models import Group
from django.db import connection

from releasemgr import roles
from tests import numbers
from tests.factories import UserFactory, make_train, schedule
from trains import services
from trains.models import Notification, Phase

from .conftest import workers_redis_url

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="kills need PostgreSQL"),
    pytest.mark.timeout(600),  # a wait gives up long before; this is the backstop
]

ROOT = Path(__file__).resolve().parents[3]
REDIS_URL = workers_redis_url()
TRAINS = int(os.environ.get("FAULTS_TRAINS", "60"))
SMTP_DELAY = 0.02  # seconds per accepted mail: the dispatch takes a few seconds
FINISH_WITHIN = 120  # seconds after the last worker starts; the old requeue was an hour


class Sink:
    """An SMTP server's handler: keeps each mail's Message-ID; on request, holds the
    reply to the QUIT after an accepted mail, so its sender is caught between the
    server's accept and its own commit."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.lock = threading.Lock()
        self.hold_next = False
        self.holding = threading.Event()
        self.released = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(SMTP_DELAY)
        message = email.message_from_bytes(envelope.original_content)
        with self.lock:
            self.ids.append(message["Message-ID"])
            if self.hold_next:
                self.hold_next = False
                session.hold = True
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):
        if getattr(session, "hold", False):
            self.holding.set()
            while not self.released.is_set():
                await asyncio.sleep(0.05)
        return "221 Bye"

    def count(self) -> int:
        with self.lock:
            return len(self.ids)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting ({timeout:.0f} s) for {what}")
        time.sleep(0.1)


def real_today():
    """Today by the wall clock, which the worker processes read (FREEZE_TODAY moves only
    this process's clock)."""
    hatch = time_machine.escape_hatch
    now = hatch.time.time() if hatch.is_travelling() else time.time()
    return datetime.fromtimestamp(now, tz=UTC).date()


class Stack:
    """Celery worker and beat processes, each in a process group of its own."""

    def __init__(self, tmp_path: Path, smtp_port: int) -> None:
        db = connection.settings_dict
        self.dsn = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        self.tmp = tmp_path
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "releasemgr.settings",
            "DATABASE_URL": self.dsn,
            "CELERY_BROKER_URL": REDIS_URL,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "SITE_URL": "https://releases.test",
            "DEFAULT_FROM_EMAIL": "releasemgr@releases.test",
            "TIME_ZONE": "UTC",
            "DEBUG": "false",
            "REMINDER_OFFSETS_DAYS": "7,2,1",
            "REMINDER_ESCALATE_AFTER_DAYS": "3",
            "REMINDER_SCAN_SECONDS": "3",
            "NOTIFICATION_DISPATCH_SECONDS": "2",
        }
        self.env.pop("FREEZE_TODAY", None)
        self.processes: list[subprocess.Popen] = []
        self.kills = 0
        self.sender = Celery("releasemgr-faults", broker=REDIS_URL)
        self.sender.conf.broker_transport_options = {}

    def start(self, kind: str, name: str) -> subprocess.Popen:
        if kind == "worker":
            args = ["worker", "--pool=prefork", "--concurrency=2", "-n", f"{name}@%h"]
            args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        else:
            args = ["beat", "--schedule", str(self.tmp / f"{name}-schedule")]
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(  # nosec B603 - fixed arguments
            [sys.executable, "-m", "celery", "-A", "releasemgr", *args, "--loglevel=INFO"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg reaches the children
        )
        process.log = log
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        process.log.close()
        self.kills += 1

    def ask(self, task: str) -> None:
        # The connection named outright: Celery's CELERY_BROKER_URL variable (the test
        # process's own broker, set by make test) outranks an app's broker setting.
        with self.sender.connection_for_write(REDIS_URL) as conn:
            self.sender.send_task(f"trains.tasks.{task}", connection=conn)

    def purge(self) -> None:
        with self.sender.connection_for_write(REDIS_URL) as conn:
            self.sender.control.purge(connection=conn)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
                process.log.close()

    def beat_rounds(self) -> int:
        """Tasks the beats have sent so far (each logs "Sending due task")."""
        return sum(
            path.read_text(errors="replace").count("Sending due task")
            for path in self.tmp.glob("beat*.log")
        )

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.tmp.glob("*.log"))
        )


@pytest.fixture
def sink():
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    handler.released.set()
    controller.stop()


@pytest.fixture
def due(role_groups):
    """TRAINS trains with their scoping end 7 days ahead (one reminder each, to their
    manager) and a tenth as many cancelled ones (a mail each to QA and the engineer, who
    see every train)."""
    today = real_today()
    managers = [
        UserFactory(username=f"manager{i}", email=f"manager{i}@example.com") for i in range(5)
    ]
    group = Group.objects.get(name=roles.RELEASE_MANAGERS)
    for person in managers:
        person.groups.add(group)
    for role, name in ((roles.QA, "qa"), (roles.RELEASE_ENGINEERS, "engineer")):
        UserFactory(username=name, email=f"{name}@example.com").groups.add(
            Group.objects.get(name=role)
        )
    trains = [make_train(managers[i % 5], **schedule(today)) for i in range(TRAINS)]
    for i in range(max(1, TRAINS // 10)):
        cancelled = make_train(managers[i % 5], **schedule(today))
        services.train_transition(train=cancelled, name="cancel", by=managers[i % 5], reason="No")
    events = Notification.objects.filter(event__isnull=False, status="pending").count()
    return {"today": today, "trains": trains, "reminders": TRAINS, "events": events}


@pytest.fixture
def blockers():
    """Connections a test holds transactions open on; closed (their transactions rolled
    back) before the database is flushed, whatever happened: an open one would make the
    flush wait on its locks for ever."""
    held: list[psycopg.Connection] = []
    yield held
    for blocker in held:
        blocker.close()


def hold_the_scan(stack: Stack, due: dict, blockers: list) -> psycopg.Connection:
    """Write one of today's reminders in a transaction left open: the scan's insert waits
    for it, inside the scan's own transaction, until this one ends."""
    phase = Phase.objects.get(train=due["trains"][0], kind="scoping")
    blocker = psycopg.connect(stack.dsn.replace("postgres://", "postgresql://"))
    blockers.append(blocker)
    blocker.execute(
        "INSERT INTO trains_reminder (train_id, target, target_id, label, phase, kind, "
        "due_date, day, created_at) VALUES (%s, 'phase', %s, 'End of scoping', 'scoping', "
        "'due_soon', %s, %s, now())",
        [phase.train_id, phase.pk, phase.planned_end, due["today"]],
    )
    return blocker


def scan_waiting(stack: Stack) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO \"trains_reminder\"%%'"
        )
        return cursor.fetchone()[0] > 0


def pending() -> int:
    return Notification.objects.filter(status="pending").count()


@pytest.mark.parametrize("beats", [0, 2], ids=["tasks-asked-directly", "two-beats"])
def test_killed_workers_lose_no_mail_and_double_none(tmp_path, sink, due, blockers, beats):
    stack = Stack(tmp_path, sink.port)
    if not beats:  # one dispatch asked for sends everything (a beat's would stop after 2 s)
        stack.env["NOTIFICATION_DISPATCH_SECONDS"] = "600"
    stack.purge()
    expected = due["reminders"] + due["events"]
    held_kills = 0
    try:
        for n in range(beats):
            stack.start("beat", f"beat{n}")

        # 1. killed in the scan: its insert waits on our open transaction
        blocker = hold_the_scan(stack, due, blockers)
        first = stack.start("worker", "first")
        if not beats:
            stack.ask("scan_reminders")
        wait_for(lambda: scan_waiting(stack), 60, "a scan waiting inside its transaction")
        stack.kill(first)
        blocker.rollback()
        blocker.close()
        assert not Notification.objects.filter(reminder__isnull=False).exists()

        # 2. killed after the server accepted a mail and before the worker's commit
        second = stack.start("worker", "second")
        if not beats:
            stack.ask("scan_reminders")
        wait_for(lambda: sink.count() >= expected // 4, 120, "a quarter of the mail")
        with sink.lock:
            sink.hold_next = True
        wait_for(sink.holding.is_set, 60, "a worker waiting for QUIT after an accept")
        stack.kill(second)
        held_kills += 1
        sink.released.set()

        # 3. killed while sending
        third = stack.start("worker", "third")
        if not beats:
            stack.ask("dispatch_notifications")
        sent_before = sink.count()
        wait_for(lambda: sink.count() >= sent_before + expected // 4, 120, "more mail")
        stack.kill(third)

        # 4. a new worker finishes, well within the minute-scale dispatch
        stack.start("worker", "last")
        started = time.monotonic()
        if not beats:
            stack.ask("dispatch_notifications")

        def finished() -> bool:
            return len(set(sink.ids)) >= expected and pending() == 0

        wait_for(finished, FINISH_WITHIN, f"{expected} mails")
        took = time.monotonic() - started
        if beats:  # let the beats run a few more scans and dispatches: still nothing new
            settled = sink.count()
            sent = stack.beat_rounds()
            wait_for(
                lambda: stack.beat_rounds() >= sent + 4 * beats, 60, "more rounds of the beats"
            )
            wait_for(lambda: pending() == 0, 30, "the last rounds' dispatch")
            assert sink.count() == settled
    except Exception as error:  # whatever stopped it, with what the workers said
        raise AssertionError(f"{error!r}\n{stack.logs()}") from error
    finally:
        stack.stop()
        stack.purge()

    rows = dict(Notification.objects.filter(status="sent").values_list("pk", "reminder_id"))
    copies = Counter(sink.ids)
    wanted = {
        f"<releasemgr.notification.{pk}@releases.test>"
        for pk in Notification.objects.filter(status="sent").values_list("pk", flat=True)
    }
    doubled = sum(n - 1 for n in copies.values())
    lost = len(wanted - set(copies))
    print(
        f"\nkills {stack.kills} ({held_kills} between accept and commit), beats {beats}: "
        f"mails expected {expected}, sent {len(copies)}, doubled {doubled}, lost {lost}; "
        f"the last worker finished in {took:.1f} s"
    )
    numbers.add("faults: workers killed", stack.kills)
    numbers.add("faults: mails expected", expected)
    numbers.add("faults: mails arrived (distinct Message-ID)", len(copies))
    numbers.add("faults: copies (same Message-ID, accept-before-commit kills)", doubled)
    numbers.add("faults: mails lost", lost)
    assert len(rows) == expected
    assert sum(1 for r in rows.values() if r) == due["reminders"]
    assert set(copies) == wanted  # every one arrived, nothing else did
    assert lost == 0
    # a copy only where a worker died between the server's accept and its commit: the held
    # kill, perhaps the plain one, and with beats the first too (its other process may be
    # sending the events while the scan waits): each killed process at most one mail
    assert doubled <= 2 * stack.kills
    assert not Notification.objects.exclude(status="sent").exclude(status="digest").exists()
