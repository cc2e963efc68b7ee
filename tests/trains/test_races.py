"""Two people acting at once on PostgreSQL: exactly one wins, the other is told why.

Each thread has its own database connection, so the row lock is really contended.
"""

import threading

import pytest
from django.db import connection, connections

from approvals.models import ApprovalDecision
from releasemgr.exceptions import ServiceError
from tests.factories import drive, fresh, make_train, scope
from trains import services

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks"),
]


def _race(*calls, workers_per_call=1):
    """Run the calls at the same moment in threads; return what each raised or returned."""
    barrier = threading.Barrier(len(calls) * workers_per_call)
    results = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait()
            outcome = call()
        except Exception as error:  # noqa: BLE001 - the outcome is what we assert on
            outcome = error
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [
        threading.Thread(target=run, args=(c,)) for c in calls for _ in range(workers_per_call)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_two_managers_moving_the_same_train_one_wins(manager, owner, executive):
    train = make_train(manager)
    scope(train, manager=manager, owner=owner)
    stale_a, stale_b = fresh(train), fresh(train)
    results = _race(
        lambda: services.train_transition(train=stale_a, name="start_construction", by=manager),
        lambda: services.train_transition(
            train=stale_b, name="cancel", by=manager, reason="No budget"
        ),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1, results
    assert isinstance(errors[0], ServiceError)
    assert "Someone else moved this train first" in str(errors[0])
    train = fresh(train)
    assert train.state in ("construction", "cancelled")
    assert train.events.filter(kind="transition").count() == 1


def test_same_step_pressed_eight_times_at_once_moves_once(manager, owner, executive):
    train = make_train(manager)
    scope(train, manager=manager, owner=owner)
    stale = [fresh(train) for _ in range(8)]
    results = _race(
        *[
            (lambda t=t: services.train_transition(train=t, name="start_construction", by=manager))
            for t in stale
        ]
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert fresh(train).events.filter(transition="start_construction").count() == 1


def test_two_approvers_completing_a_quorum_pass_the_gate_once(
    manager, owner, qa, executive, executive2, engineer
):
    train, _, exe, _ = drive(
        make_train(manager),
        "executive_approval",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
        exec_needed=2,
    )
    results = _race(
        lambda: services.decision_record(requirement=exe, by=executive, approve=True),
        lambda: services.decision_record(requirement=exe, by=executive2, approve=True),
    )
    assert all(isinstance(r, ApprovalDecision) for r in results), results
    train = fresh(train)
    assert train.state == "deployment"
    assert train.events.filter(transition="approve_executive").count() == 1
    assert ApprovalDecision.objects.filter(requirement=exe, round=1).count() == 2


def test_same_person_deciding_twice_at_once_is_counted_once(
    manager, owner, qa, executive, engineer
):
    train, dev, _, _ = drive(
        make_train(manager),
        "development_approval",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    results = _race(
        *[lambda: services.decision_record(requirement=dev, by=manager, approve=True)] * 4
    )
    assert ApprovalDecision.objects.filter(requirement=dev).count() == 1
    assert sum(isinstance(r, ApprovalDecision) for r in results) == 1, results
    assert fresh(train).events.filter(transition="approve_development").count() == 1


def test_deploying_twice_at_once_records_one_success(manager, owner, qa, executive, engineer):
    train, *_ = drive(
        make_train(manager),
        "deployment",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    stale = [fresh(train), fresh(train)]
    results = _race(
        *[(lambda t=t: services.train_deploy(train=t, by=engineer, succeeded=True)) for t in stale]
    )
    train = fresh(train)
    assert train.state == "closed"
    assert train.deployments.count() == 1
    assert sum(isinstance(r, ServiceError) for r in results) == 1


def test_connection_is_postgresql():
    assert connection.vendor == "postgresql"
