"""Two years of closed trains for the demo, driven through the services with the clock
moved to each day (time-machine), so that every history row, decision, phase end and
deployment is what the application writes: slips, rejections with reasons, failed
deployments and their restores, emergencies. Landing on time improves over the two years.

Not a command of its own: `seed_demo` calls `seed`.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone

from applications import services as application_services
from approvals.models import Gate
from releasemgr import roles
from trains import services
from trains.choices import CriterionCheck, PhaseKind, TrainType
from trains.models import ReleaseTrain

TRAINS = 48  # two a month over two years
MONTHS = 24
THEMES = [
    "Checkout", "Search", "Onboarding", "Reporting", "Payments", "Mobile", "Accounts",
    "Notifications", "Pricing", "Catalogue", "Support", "Analytics",
]  # fmt: skip
PHASE_DAYS = {TrainType.MAJOR: 12, TrainType.MINOR: 8, TrainType.PATCH: 4, TrainType.EMERGENCY: 1}
DEV_REASONS = [
    "Billing tax rules missing from the release notes.",
    "Regression tests failing on the payment service.",
    "Migration script not reviewed.",
    "Security review of the login changes missing.",
]
EXEC_REASONS = [
    "Rollback plan missing for the payment service.",
    "Release falls in the customer's quarter-end: move it.",
    "Security review of the login changes missing.",
]


def names(today: date) -> list[str]:
    first = today - timedelta(days=MONTHS * 30 + 20)
    return [
        f"{first + timedelta(days=i * 15):%Y.%m} {THEMES[i % len(THEMES)]} "
        f"{'hotfix' if _type(i) == TrainType.EMERGENCY else 'train'}"
        for i in range(TRAINS)
    ]


def _type(i: int) -> TrainType:
    if i % 7 == 3:
        return TrainType.EMERGENCY
    return (TrainType.MINOR, TrainType.PATCH, TrainType.MAJOR, TrainType.MINOR)[i % 4]


@contextmanager
def _at(moment: datetime):
    with time_machine.travel(moment, tick=False):
        yield


def seed(*, people: dict, apps: list, count: int = TRAINS) -> int:
    """The closed trains of the last two years (the first `count` of them), unless any
    of them is there (made once: what `count` left out is not added later, so that the
    random slips and rejections stay the same); how many were made."""
    today = timezone.localdate()
    wanted = names(today)[:count]
    if not wanted:
        return 0
    if ReleaseTrain.objects.filter(name__in=wanted).exists():
        return 0
    executives = Group.objects.get(name=roles.EXECUTIVES)
    rng = random.Random(15)  # nosec B311 - demo data, not security
    first = today - timedelta(days=MONTHS * 30 + 20)
    for i, name in enumerate(wanted):
        start = first + timedelta(days=i * 15)
        _train(i, name, start, rng, people=people, apps=apps, executives=executives)
    return len(wanted)


def _train(i, name, start, rng, *, people, apps, executives) -> None:
    manager, owner, qa = people["manager"], people["owner"], people["qa"]
    executive, engineer = people["executive"], people["engineer"]
    kind = _type(i)
    step = PHASE_DAYS[kind]
    ends = {k: start + timedelta(days=step * (n + 1)) for n, k in enumerate(PhaseKind)}
    # Later trains slip less: the chance of a late phase falls from 60% to 20%.
    late_chance = 0.6 - 0.4 * i / TRAINS
    clock = datetime.combine(start, time(9), tzinfo=UTC)

    def later(hours: float) -> datetime:
        nonlocal clock
        clock += timedelta(hours=hours)
        return clock

    def phase_end(kind_: PhaseKind) -> datetime:
        """When a phase ends: its planned end, or some days after when it slips."""
        nonlocal clock
        planned = datetime.combine(ends[kind_], time(15), tzinfo=UTC)
        slip = rng.randint(1, max(2, step // 2 + 2)) if rng.random() < late_chance else 0
        early = rng.randint(0, max(0, step // 3)) if not slip else 0
        clock = max(clock + timedelta(hours=2), planned + timedelta(days=slip - early))
        return clock

    with _at(clock):
        train = services.train_create(
            by=manager,
            name=name,
            train_type=kind,
            primary_manager=manager,
            start_date=start,
            end_date=ends[PhaseKind.DEPLOYMENT] + timedelta(days=step),
            phase_ends=ends,
            purpose=f"{TrainType(kind).label} release of {name.split(' ', 1)[1].lower()}.",
            release_engineers=[engineer],
        )
        dev = services.requirement_add(train=train, by=manager, gate=Gate.DEVELOPMENT, user=manager)
        exe = services.requirement_add(
            train=train, by=manager, gate=Gate.EXECUTIVE, group=executives, required_approvals=1
        )
        release = application_services.release_create(
            by=manager, application=apps[i % len(apps)], version=f"0.{i}.0"
        )
        services.release_add(train=train, release=release, by=manager)
    with _at(phase_end(PhaseKind.SCOPING)):
        services.train_transition(train=_fresh(train), name="start_construction", by=manager)
        release = services.release_transition(
            release=_fresh(release), name="start_development", by=owner
        )
    with _at(phase_end(PhaseKind.CONSTRUCTION) - timedelta(hours=rng.randint(4, 30))):
        services.release_transition(release=_fresh(release), name="complete_development", by=owner)
    if rng.random() < 0.2:
        with _at(later(rng.randint(3, 40))):
            services.decision_record(
                requirement=dev, by=manager, approve=False, comment=rng.choice(DEV_REASONS)
            )
        with _at(later(rng.randint(8, 30))):
            release = services.release_transition(
                release=_fresh(release), name="reopen_development", by=owner
            )
            services.release_transition(release=release, name="complete_development", by=owner)
    with _at(later(rng.randint(2, 50))):
        services.decision_record(requirement=dev, by=manager, approve=True)
        check = _fresh(train).criteria.get(phase=PhaseKind.VERIFICATION, rule=CriterionCheck.MANUAL)
        services.criterion_set_met(criterion=check, by=qa, met=True)
    with _at(phase_end(PhaseKind.VERIFICATION) - timedelta(hours=rng.randint(4, 24))):
        services.train_transition(
            train=_fresh(train), name="request_executive_approval", by=manager
        )
    if rng.random() < 0.15:
        with _at(later(rng.randint(4, 48))):
            services.decision_record(
                requirement=exe, by=executive, approve=False, comment=rng.choice(EXEC_REASONS)
            )
        with _at(later(rng.randint(6, 24))):
            services.train_transition(
                train=_fresh(train), name="request_executive_approval", by=manager
            )
    with _at(later(rng.randint(2, 70))):
        services.decision_record(requirement=exe, by=executive, approve=True)
        turnover = services.turnover_submit(
            release=_fresh(release), by=owner, description="Build artefacts and runbook."
        )
        services.turnover_decide(turnover=turnover, by=engineer, accept=True)
    approved = clock
    deployed = phase_end(PhaseKind.DEPLOYMENT)
    if rng.random() < 0.2:
        failed = max(deployed - timedelta(hours=rng.randint(6, 30)), approved + timedelta(hours=1))
        with _at(failed):
            services.train_deploy(
                train=_fresh(train),
                by=engineer,
                succeeded=False,
                log="Smoke tests failed after the switch; rolled back.",
            )
        deployed = max(deployed, failed + timedelta(hours=rng.randint(2, 8)))
    with _at(deployed):
        services.train_deploy(
            train=_fresh(train), by=engineer, succeeded=True, log="All services healthy."
        )


def _fresh(obj):
    return type(obj).objects.get(pk=obj.pk)
