"""Database rules that hold even when code forgets: each bad write below bypasses the
services and is refused by the database itself."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from applications.models import Application, ApplicationRelease, Turnover
from approvals.models import ApprovalDecision
from tests.factories import drive, make_train
from trains.models import Deployment, ExitCriterion, Milestone, ReleaseTrain, TrainEvent

pytestmark = pytest.mark.django_db


def refused(write) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


@pytest.fixture
def closed(manager, owner, qa, executive, engineer):
    train, dev, exe, releases = drive(
        make_train(manager),
        "closed",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    return train, dev, releases


def test_a_train_closes_on_one_successful_deployment_only(closed, engineer):
    train, *_ = closed
    refused(lambda: Deployment.objects.create(train=train, attempted_by=engineer, succeeded=True))
    Deployment.objects.create(train=train, attempted_by=engineer, succeeded=False)  # allowed


def test_train_dates_of_closing_and_gates_match_its_state(manager):
    train = make_train(manager)
    trains = ReleaseTrain.objects.filter(pk=train.pk)
    refused(lambda: trains.update(state="closed"))  # closed without saying when
    refused(lambda: trains.update(closed_at=timezone.now()))  # open but "closed at"
    refused(lambda: trains.update(state="executive_approval"))  # at a gate with no round open
    refused(lambda: trains.update(gate_opened_at=timezone.now()))  # a round open in scoping
    refused(lambda: trains.update(name=""))


def test_ticks_and_milestones_say_who_and_when(manager):
    train = make_train(manager)
    criterion = ExitCriterion.objects.create(train=train, phase="verification", description="x")
    criteria = ExitCriterion.objects.filter(pk=criterion.pk)
    refused(lambda: criteria.update(met_at=timezone.now()))
    refused(lambda: criteria.update(met_by=manager))
    refused(lambda: criteria.update(description=""))
    milestone = Milestone.objects.create(train=train, name="Code freeze", due_date=train.end_date)
    milestones = Milestone.objects.filter(pk=milestone.pk)
    refused(lambda: milestones.update(reached_at=timezone.now()))
    refused(lambda: milestones.update(name=""))


def test_decided_turnovers_say_who_and_when(closed):
    _, _, releases = closed
    turnovers = Turnover.objects.filter(release=releases[0])
    refused(lambda: turnovers.update(decided_at=None))
    refused(lambda: turnovers.update(state="submitted"))


def test_names_and_versions_are_never_empty(owner):
    refused(lambda: Application.objects.create(name="", product_owner=owner))
    application = Application.objects.create(name="Billing", product_owner=owner)
    refused(lambda: ApplicationRelease.objects.create(application=application, version=""))


def test_refusals_in_history_always_carry_a_reason(manager):
    train = make_train(manager)
    refused(
        lambda: TrainEvent.objects.create(
            train=train, kind="transition", actor=manager, transition="cancel", message=""
        )
    )


def test_decisions_belong_to_a_real_round(closed, manager):
    _, dev, _ = closed
    refused(
        lambda: ApprovalDecision.objects.create(
            requirement=dev, round=0, user=manager, approve=True, requested_at=timezone.now()
        )
    )
