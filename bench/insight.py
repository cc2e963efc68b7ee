"""The pages across trains in `make bench` (issue 15): the portfolio with 200 open trains
and the metrics page over 10,000 trains closed in the last two years.

Kept apart from bench/dataset.py and bench/run.py's own pages so that other measures
change nothing here: its own two release managers lead these trains, so the other pages'
users see none of them. The history is bulk-inserted with the moments given (the models'
`auto_now_add` would stamp them all "now"): phases that slip, gate rounds with their
history rows and decisions (some rejections), failed and successful deployments.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from trains.choices import PhaseKind, TrainState, TrainType

# bench/run.py imports this module before Django is set up: the models are imported in
# the functions that build.


@dataclass(frozen=True)
class Size:
    open_trains: int
    closed_trains: int


FULL = Size(200, 10_000)
SMALL = Size(40, 400)
DAYS = 730  # two years of history
PORTFOLIO_USER = "portfolio"
METRICS_USER = "metrics"
QUERY_LIMIT = 10  # each page, at most
# (what, page, the admin page it is compared with, goal): medians in process
ADMIN = "b_admin_releases"
GOALS = {
    "h/b": ("portfolio, 200 open trains, vs admin 200 rows", "h_portfolio", ADMIN, 0.5),
    "i/b": (
        "metrics, 10,000 trains over 2 years, as opened (the figures kept while nothing "
        "changed), vs admin 200 rows",
        "i_metrics",
        ADMIN,
        0.5,
    ),
    "j/b": (
        "the same metrics computed afresh on every request (?fresh=1), vs admin 200 rows",
        "j_metrics_fresh",
        ADMIN,
        None,
    ),
}
REASONS = [
    "Regression tests failing on the payment service.",
    "Rollback plan missing.",
    "Security review of the login changes missing.",
]
OPEN = [TrainState.SCOPING, TrainState.CONSTRUCTION, TrainState.VERIFICATION, TrainState.DEPLOYMENT]
TYPES = [TrainType.MINOR, TrainType.PATCH, TrainType.MAJOR, TrainType.MINOR, TrainType.EMERGENCY]


def pages(today: date | None = None) -> dict[str, tuple[str, str]]:
    """label -> (user, url), as bench/run.py's `_pages`."""
    today = today or timezone.localdate()
    first = today - timedelta(days=DAYS - 1)
    metrics = f"/metrics/?first={first:%Y-%m-%d}&last={today:%Y-%m-%d}"
    return {
        "h_portfolio": (PORTFOLIO_USER, "/portfolio/"),
        "i_metrics": (METRICS_USER, metrics),
        "j_metrics_fresh": (METRICS_USER, f"{metrics}&fresh=1"),
    }


def _manager(username: str):
    from bench.dataset import _user
    from releasemgr import roles

    return _user(username, roles.RELEASE_MANAGERS, first_name=username.capitalize())


def build(size: Size = FULL, *, seed: int = 15) -> float:
    """Add the portfolio's open trains and the metrics' history; returns the seconds."""
    from django.db import connection, transaction

    started = time.perf_counter()
    rng = random.Random(seed)  # nosec B311 - repeatable benchmark data, not security
    with transaction.atomic():
        _open_trains(size.open_trains, rng)
        _history(size.closed_trains, rng)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def _open_trains(count: int, rng: random.Random) -> None:
    """Open trains whose windows meet the current quarter, each with its phases and two
    milestones."""
    from trains.models import Milestone, Phase, ReleaseTrain
    from trains.selectors.portfolio import Window, Zoom

    lead = _manager(PORTFOLIO_USER)
    window = Window.around(timezone.localdate(), Zoom.QUARTER)
    trains = ReleaseTrain.objects.bulk_create(
        ReleaseTrain(
            name=f"Portfolio train {i:03d}",
            train_type=TYPES[i % len(TYPES)],
            primary_manager=lead,
            created_by=lead,
            start_date=(start := window.first + timedelta(days=rng.randint(-40, 80))),
            end_date=start + timedelta(days=rng.randint(20, 70)),
            state=rng.choice(OPEN),
        )
        for i in range(count)
    )
    Phase.objects.bulk_create(
        Phase(
            train=t,
            kind=kind,
            position=p,
            planned_end=t.start_date + (t.end_date - t.start_date) * (p + 1) // 4,
        )
        for t in trains
        for p, kind in enumerate(PhaseKind)
    )
    Milestone.objects.bulk_create(
        Milestone(train=t, name=name, due_date=t.start_date + (t.end_date - t.start_date) * k // 3)
        for t in trains
        for k, name in ((1, "Code freeze"), (2, "Go/no-go"))
    )


def _moment(day: date, hours: float) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hours)


def _history(count: int, rng: random.Random) -> None:
    """Trains closed over the last two years, with everything the metrics read."""
    from django.contrib.auth.models import Group

    from approvals.models import ApprovalDecision, ApprovalRequirement, Gate
    from releasemgr import roles
    from releasemgr.db import bulk_insert
    from trains.models import Deployment, Phase, ReleaseTrain, TrainEvent

    lead = _manager(METRICS_USER)
    executive = _manager("metrics_executive")
    executives = Group.objects.get(name=roles.EXECUTIVES)
    today = timezone.localdate()
    plans = []
    for i in range(count):
        closed_on = today - timedelta(days=DAYS - 1 - i * (DAYS - 1) // max(count - 1, 1))
        kind = TYPES[i % len(TYPES)]
        step = 2 if kind == TrainType.EMERGENCY else rng.randint(5, 12)
        slips = [rng.choice([0, 0, 0, 1, 2, 5]) for _ in PhaseKind]
        start = closed_on - timedelta(days=4 * step + sum(slips) + 1)
        plans.append((i, kind, step, slips, start, closed_on))
    rows = [
        (
            f"History train {i:05d}",
            "Benchmark history",
            kind,
            lead.pk,
            start,
            start + timedelta(days=4 * step + 1),
            TrainState.CLOSED,
            2,
            2,
            lead.pk,
            _moment(start, 8),
            _moment(closed_on, 16),
        )
        for i, kind, step, slips, start, closed_on in plans
    ]
    ids = [
        pk
        for (pk,) in bulk_insert(
            ReleaseTrain,
            [
                "name",
                "purpose",
                "train_type",
                "primary_manager_id",
                "start_date",
                "end_date",
                "state",
                "development_round",
                "executive_round",
                "created_by_id",
                "created_at",
                "closed_at",
            ],
            rows,
            returning=["id"],
        )
    ]
    phases, events, deployments, requirements, decisions = [], [], [], [], []
    for pk, (_, _kind, step, slips, start, closed_on) in zip(ids, plans, strict=True):
        ended = start
        ends = {}
        for p, kind in enumerate(PhaseKind):
            planned = start + timedelta(days=step * (p + 1))
            actual = planned + timedelta(days=slips[p])
            ends[kind] = (planned, actual)
            phases.append(
                Phase(
                    train_id=pk,
                    kind=kind,
                    position=p,
                    planned_end=planned,
                    actual_start=_moment(ended, 12),
                    actual_end=_moment(actual, 15),
                )
            )
            ended = actual
        requirements += [
            ApprovalRequirement(train_id=pk, gate=Gate.DEVELOPMENT, user=lead),
            ApprovalRequirement(train_id=pk, gate=Gate.EXECUTIVE, group=executives),
        ]
        for gate, phase, opens, passes, rejects in (
            (Gate.DEVELOPMENT, PhaseKind.CONSTRUCTION, "request_development_approval",
             "approve_development", "reject_development"),
            (Gate.EXECUTIVE, PhaseKind.VERIFICATION, "request_executive_approval",
             "approve_executive", "reject_executive"),
        ):  # fmt: skip
            closes = _moment(ends[phase][1], 15)
            rejected = rng.random() < 0.15
            opened = closes - timedelta(hours=rng.randint(2, 72))
            rounds = (
                [(1, opened - timedelta(days=2), opened - timedelta(days=1), False)]
                if (rejected)
                else []
            )
            rounds.append((len(rounds) + 1, opened, closes, True))
            for number, requested, decided, approve in rounds:
                events.append(
                    TrainEvent(
                        train_id=pk,
                        kind="transition",
                        actor=lead,
                        created_at=requested,
                        transition=opens,
                    )
                )
                events.append(TrainEvent(
                    train_id=pk, kind="transition", actor=None if approve else executive,
                    created_at=decided, transition=passes if approve else rejects,
                    message="" if approve else rng.choice(REASONS),
                ))  # fmt: skip
                decisions.append((pk, gate, number, approve, requested, decided))
        closed_at = _moment(closed_on, 16)
        if rng.random() < 0.2:
            failed = closed_at - timedelta(hours=rng.randint(2, 30))
            deployments.append((pk, lead.pk, failed, False, "failed"))
        deployments.append((pk, lead.pk, closed_at, True, "ok"))
    Phase.objects.bulk_create(phases, batch_size=5000)
    TrainEvent.objects.bulk_create(events, batch_size=5000)
    ApprovalRequirement.objects.bulk_create(requirements, batch_size=5000)
    requirement_of = {
        (train, gate): pk
        for pk, train, gate in ApprovalRequirement.objects.filter(train_id__in=ids).values_list(
            "pk", "train_id", "gate"
        )
    }
    bulk_insert(
        ApprovalDecision,
        ["requirement_id", "round", "user_id", "approve", "comment", "requested_at", "decided_at"],
        [
            (
                requirement_of[(train, gate)],
                number,
                lead.pk if gate == Gate.DEVELOPMENT else executive.pk,
                approve,
                "" if approve else rng.choice(REASONS),
                requested,
                decided,
            )
            for train, gate, number, approve, requested, decided in decisions
        ],
    )
    bulk_insert(
        Deployment, ["train_id", "attempted_by_id", "attempted_at", "succeeded", "log"], deployments
    )
