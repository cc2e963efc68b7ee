"""Build the benchmark's dataset with bulk inserts.

Full size: 10,000 trains across all states, 100,000 application releases, one big train
(200 releases, 100 exit criteria, 20 approval requirements with decisions, 500 history
events), an executive with 50 trains waiting, and a month with 300 phase deadlines.
"""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.utils import timezone

from applications.models import Application, ApplicationRelease
from approvals.models import ApprovalDecision, ApprovalRequirement
from releasemgr import roles
from trains.choices import CriterionCheck, PhaseKind, TrainState
from trains.models import (
    ExitCriterion,
    Phase,
    ReleaseTrain,
    ReleaseTrainGroupObjectPermission,
    ReleaseTrainUserObjectPermission,
    TrainEvent,
)


@dataclass(frozen=True)
class Scale:
    trains: int
    releases: int
    big_releases: int
    big_criteria: int
    big_requirements: int
    big_events: int
    inbox: int
    month_deadlines: int


FULL = Scale(10_000, 100_000, 200, 100, 20, 500, 50, 300)
SMALL = Scale(200, 2_000, 40, 20, 4, 60, 10, 40)

OPEN_STATES = [s for s in TrainState if s not in (TrainState.EXECUTIVE_APPROVAL,)]


@dataclass
class Dataset:
    big_train_id: int
    month: date
    manager: str = "manager"
    executive: str = "executive"
    admin: str = "admin"
    seconds: float = 0.0


def _user(username: str, role: str | None = None, **extra):
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults=extra)
    if created:
        user.set_password("demo")
        user.save()
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def build(scale: Scale, *, seed: int = 7) -> Dataset:
    """Create the dataset in an empty database; returns what the benchmark needs."""
    started = time.perf_counter()
    # B311: repeatable benchmark data, not security
    rng = random.Random(seed)  # nosec B311
    today = timezone.localdate()
    month = today.replace(day=1)
    with transaction.atomic():
        manager = _user("manager", roles.RELEASE_MANAGERS, first_name="Maria")
        _user("executive", roles.EXECUTIVES)
        owner = _user("owner", roles.PRODUCT_OWNERS)
        _user("admin", is_staff=True, is_superuser=True)
        approvers = [_user(f"approver{i}", roles.EXECUTIVES) for i in range(scale.big_requirements)]
        apps = Application.objects.bulk_create(
            Application(name=f"Application {i:03d}", product_owner=owner) for i in range(100)
        )
        trains = _trains(scale, rng, month, manager, apps, first=0)
        big = trains[0]
        _fill_big(big, scale, rng, manager, approvers, apps)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return Dataset(big_train_id=big.pk, month=month, seconds=time.perf_counter() - started)


def copy_trains(first: int, last: int, *, until: int) -> float:
    """Copy trains `first`..`last` (ids), each with its phases, criteria, releases,
    approval requirements, permissions and history, until the table holds `until` trains:
    how the growth benchmark adds 90,000 trains in seconds (INSERT ... SELECT on the
    server), where bulk inserts take minutes. Returns the seconds it took."""
    started = time.perf_counter()
    span = last - first + 1
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*), max(id) FROM trains_releasetrain")
        count, top = cursor.fetchone()
        while count < until:
            shift = top - first + 1
            for model, column, changes in _COPIED:
                fields = [f.column for f in model._meta.concrete_fields]
                if model is not ReleaseTrain:
                    fields = [c for c in fields if c != "id"]
                values = [
                    changes.get(c, f"{c} + %(shift)s" if c in (column, "id") else c) for c in fields
                ]
                cursor.execute(
                    f"INSERT INTO {model._meta.db_table} ({', '.join(fields)}) "  # nosec B608 - our own table and column names
                    f"SELECT {', '.join(values)} FROM {model._meta.db_table} "
                    f"WHERE {column} BETWEEN %(first)s AND %(last)s",
                    {"shift": shift, "first": first, "last": last, "copy": f" +{shift}"},
                )
            count, top = count + span, top + span
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('trains_releasetrain', 'id'), %s)", [top]
        )
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


# What copy_trains copies: the model, its column naming the train, and the values changed
# so that unique names stay unique.
_COPIED = [
    (ReleaseTrain, "id", {"name": "name || %(copy)s"}),
    (Phase, "train_id", {}),
    (ExitCriterion, "train_id", {}),
    (ApplicationRelease, "train_id", {"version": "version || %(copy)s"}),
    (ApprovalRequirement, "train_id", {}),
    (ReleaseTrainUserObjectPermission, "content_object_id", {}),
    (ReleaseTrainGroupObjectPermission, "content_object_id", {}),
    (TrainEvent, "train_id", {}),
]


def dashboard_train(scale: Scale, releases: int, *, seed: int = 9) -> int:
    """Another train like the big one (its criteria, approvals and history) with
    `releases` application releases: the dashboard at another size."""
    rng = random.Random(seed)  # nosec B311
    month = timezone.localdate().replace(day=1)
    User = get_user_model()
    with transaction.atomic():
        manager = User.objects.get(username="manager")
        apps = list(Application.objects.order_by("name")[:100])
        approvers = list(User.objects.filter(username__startswith="approver").order_by("id"))
        first = ReleaseTrain.objects.count()
        one = Scale(1, 0, releases, *dataclasses.astuple(scale)[3:])
        (train,) = _trains(one, rng, month, manager, apps, first=first, big_first=True)
        _fill_big(train, one, rng, manager, approvers, apps)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return train.pk


def _trains(scale, rng, month, manager, apps, *, first: int, big_first: bool | None = None):
    """`scale.trains` trains numbered from `first`, each with its phases, default exit
    criteria, approval requirements, permissions and creation event, and
    `scale.releases - scale.big_releases` releases spread over all but the first."""
    executives = Group.objects.get(name=roles.EXECUTIVES)
    big_first = first == 0 if big_first is None else big_first
    # Trains: the big one first, then `inbox` waiting for the executive, then the rest
    # spread over the years around today; `month_deadlines / 4` trains have all four
    # phase deadlines inside the current month.
    in_month = scale.month_deadlines // 4 if first == 0 else 0
    inbox = scale.inbox if first == 0 else 0
    trains = []
    for i in range(first, first + scale.trains):
        if (big_first and i == first) or i - first <= inbox and first == 0:
            state = TrainState.EXECUTIVE_APPROVAL
        else:
            state = rng.choice(OPEN_STATES)
        if i - first < in_month:
            start = month
        else:
            start = month + timedelta(days=rng.choice([-1, 1]) * rng.randint(40, 2000))
        trains.append(
            ReleaseTrain(
                name=f"Train {i:05d}",
                purpose="Benchmark train",
                train_type="minor",
                primary_manager=manager,
                created_by=manager,
                start_date=start,
                end_date=start + timedelta(days=27),
                state=state,
                development_round=1
                if state not in (TrainState.SCOPING, TrainState.CONSTRUCTION)
                else 0,
                executive_round=1 if state == TrainState.EXECUTIVE_APPROVAL else 0,
                gate_opened_at=timezone.now() - timedelta(hours=i)
                if state in (TrainState.DEVELOPMENT_APPROVAL, TrainState.EXECUTIVE_APPROVAL)
                else None,
                # the database holds closed_at exactly on closed and cancelled trains
                closed_at=timezone.now()
                if state in (TrainState.CLOSED, TrainState.CANCELLED)
                else None,
            )
        )
    trains = ReleaseTrain.objects.bulk_create(trains, batch_size=2000)

    Phase.objects.bulk_create(
        (
            Phase(
                train=t,
                kind=kind,
                position=p,
                planned_end=t.start_date + timedelta(days=6 * (p + 1)),
                actual_start=timezone.now() if p == 0 else None,
            )
            for t in trains
            for p, kind in enumerate(PhaseKind)
        ),
        batch_size=5000,
    )
    defaults = [
        (PhaseKind.SCOPING, CriterionCheck.PHASE_DATES_SET),
        (PhaseKind.SCOPING, CriterionCheck.APPROVALS_SET),
        (PhaseKind.SCOPING, CriterionCheck.HAS_RELEASES),
        (PhaseKind.CONSTRUCTION, CriterionCheck.RELEASES_COMPLETE),
        (PhaseKind.DEPLOYMENT, CriterionCheck.TURNOVERS_ACCEPTED),
    ]
    ExitCriterion.objects.bulk_create(
        (
            ExitCriterion(train=t, phase=ph, rule=rule, description=CriterionCheck(rule).label)
            for t in trains
            for ph, rule in defaults
        ),
        batch_size=5000,
    )
    others = trains[1:] if big_first else trains
    if others:
        ApplicationRelease.objects.bulk_create(
            (
                ApplicationRelease(
                    application=apps[i % 100],
                    version=f"{first}.{i}",
                    train=others[i % len(others)],
                    state=rng.choice(["planned", "in_development", "development_complete"]),
                )
                for i in range(scale.releases - scale.big_releases)
            ),
            batch_size=5000,
        )
        requirements = [
            ApprovalRequirement(train=t, gate="development", user=manager) for t in others
        ]
        requirements += [
            ApprovalRequirement(train=t, gate="executive", group=executives) for t in others
        ]
        ApprovalRequirement.objects.bulk_create(requirements, batch_size=5000)

    view = Permission.objects.get(codename="view_releasetrain")
    manage = Permission.objects.get(codename="manage_releasetrain")
    ReleaseTrainUserObjectPermission.objects.bulk_create(
        (
            ReleaseTrainUserObjectPermission(user=manager, permission=p, content_object=t)
            for t in trains
            for p in (view, manage)
        ),
        batch_size=5000,
    )
    ReleaseTrainGroupObjectPermission.objects.bulk_create(
        (
            ReleaseTrainGroupObjectPermission(group=g, permission=view, content_object=t)
            for t in trains
            for g in Group.objects.filter(name__in=[roles.QA, roles.RELEASE_ENGINEERS])
        ),
        batch_size=5000,
    )
    TrainEvent.objects.bulk_create(
        (
            TrainEvent(
                train=t,
                kind="created",
                actor=manager,
                to_state="scoping",
                message=f"Train {t.name} submitted",
            )
            for t in trains
        ),
        batch_size=5000,
    )
    return trains


def _fill_big(big, scale, rng, manager, approvers, apps) -> None:
    """The big train's own rows: its manual criteria, releases, approvals with
    decisions, and history."""
    executives = Group.objects.get(name=roles.EXECUTIVES)
    ExitCriterion.objects.bulk_create(
        (
            ExitCriterion(
                train=big,
                phase=rng.choice(list(PhaseKind)),
                description=f"Manual check {i}",
                required=i % 3 != 0,
            )
            for i in range(scale.big_criteria - 5)
        ),
        batch_size=5000,
    )
    ApplicationRelease.objects.bulk_create(
        (
            ApplicationRelease(
                application=apps[i % 100],
                version=f"big{big.pk}.{i}",
                train=big,
                state="development_complete",
            )
            for i in range(scale.big_releases)
        ),
        batch_size=5000,
    )
    half = scale.big_requirements // 2
    requirements = [
        ApprovalRequirement(train=big, gate="development", user=a) for a in approvers[:half]
    ]
    requirements += [
        ApprovalRequirement(train=big, gate="executive", user=a) for a in approvers[half:]
    ]
    requirements.append(ApprovalRequirement(train=big, gate="executive", group=executives))
    ApprovalRequirement.objects.bulk_create(requirements)
    big_reqs = list(ApprovalRequirement.objects.filter(train=big).exclude(group=executives))
    now = timezone.now()
    ApprovalDecision.objects.bulk_create(
        ApprovalDecision(
            requirement=r,
            round=1,
            user=r.user,
            approve=True,
            comment="Looks good",
            requested_at=now,
        )
        for r in big_reqs[: half + half // 2]
    )
    TrainEvent.objects.bulk_create(
        TrainEvent(
            train=big,
            kind="criterion",
            actor=manager,
            message=f"Checked: Manual check {i}",
            created_at=now - timedelta(minutes=scale.big_events - i),
        )
        for i in range(scale.big_events - 1)
    )
