"""Build the benchmark's dataset with bulk inserts.

Full size: 10,000 trains across all states, 100,000 application releases, one big train
(200 releases, 100 exit criteria, 20 approval requirements with decisions, 500 history
events), an executive with 50 trains waiting, and a month with 300 phase deadlines.
"""

from __future__ import annotations

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
        executives = Group.objects.get(name=roles.EXECUTIVES)
        approvers = [_user(f"approver{i}", roles.EXECUTIVES) for i in range(scale.big_requirements)]

        # Trains: the big one first, then `inbox` waiting for the executive, then the rest
        # spread over the years around today; `month_deadlines / 4` trains have all four
        # phase deadlines inside the current month.
        in_month = scale.month_deadlines // 4
        trains = []
        for i in range(scale.trains):
            if i == 0 or i <= scale.inbox:
                state = TrainState.EXECUTIVE_APPROVAL
            else:
                state = rng.choice(OPEN_STATES)
            if i < in_month:
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
        ReleaseTrain.objects.bulk_create(trains, batch_size=2000)
        trains = list(ReleaseTrain.objects.order_by("id"))
        big = trains[0]

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
        criteria = [
            ExitCriterion(train=t, phase=ph, rule=rule, description=CriterionCheck(rule).label)
            for t in trains
            for ph, rule in defaults
        ]
        criteria += [
            ExitCriterion(
                train=big,
                phase=rng.choice(list(PhaseKind)),
                description=f"Manual check {i}",
                required=i % 3 != 0,
            )
            for i in range(scale.big_criteria - len(defaults))
        ]
        ExitCriterion.objects.bulk_create(criteria, batch_size=5000)

        apps = Application.objects.bulk_create(
            Application(name=f"Application {i:03d}", product_owner=owner) for i in range(100)
        )
        releases = [
            ApplicationRelease(
                application=apps[i % 100],
                version=f"big.{i}",
                train=big,
                state="development_complete",
            )
            for i in range(scale.big_releases)
        ]
        others = trains[1:]
        for i in range(scale.releases - scale.big_releases):
            releases.append(
                ApplicationRelease(
                    application=apps[i % 100],
                    version=f"{i}",
                    train=others[i % len(others)],
                    state=rng.choice(["planned", "in_development", "development_complete"]),
                )
            )
        ApplicationRelease.objects.bulk_create(releases, batch_size=5000)

        requirements = [
            ApprovalRequirement(train=t, gate="development", user=manager) for t in trains[1:]
        ]
        requirements += [
            ApprovalRequirement(train=t, gate="executive", group=executives) for t in trains[1:]
        ]
        half = scale.big_requirements // 2
        requirements += [
            ApprovalRequirement(train=big, gate="development", user=a) for a in approvers[:half]
        ]
        requirements += [
            ApprovalRequirement(train=big, gate="executive", user=a) for a in approvers[half:]
        ]
        requirements.append(ApprovalRequirement(train=big, gate="executive", group=executives))
        ApprovalRequirement.objects.bulk_create(requirements, batch_size=5000)
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

        events = [
            TrainEvent(
                train=t,
                kind="created",
                actor=manager,
                to_state="scoping",
                message=f"Train {t.name} submitted",
            )
            for t in trains
        ]
        events += [
            TrainEvent(
                train=big,
                kind="criterion",
                actor=manager,
                message=f"Checked: Manual check {i}",
                created_at=now - timedelta(minutes=scale.big_events - i),
            )
            for i in range(scale.big_events - 1)
        ]
        TrainEvent.objects.bulk_create(events, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return Dataset(big_train_id=big.pk, month=month, seconds=time.perf_counter() - started)
