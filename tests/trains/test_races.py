"""Two people acting at once on PostgreSQL: exactly one wins, the other is told why.

Each thread has its own database connection, so the row lock is really contended.
"""

import re
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client

from api import services as api_services
from applications import services as application_services
from applications.models import Application, ApplicationRelease, Turnover
from approvals.models import ApprovalDecision
from releasemgr.exceptions import ServiceError
from tests import numbers
from tests.factories import ReleaseFactory, drive, fresh, make_train, scope
from trains import services
from trains.models import ReleaseTrain, TrainEvent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks"),
]


def _race(*calls, workers_per_call=1):
    """Run the calls at the same moment in threads; return what each raised or returned."""
    numbers.add("races run")
    numbers.add("race threads", len(calls) * workers_per_call)
    barrier = threading.Barrier(len(calls) * workers_per_call)
    results = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait()
            outcome = call()
        except Exception as error:
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
    # the same person pressed both: they are told it was their own move
    assert "You have moved this train already" in str(errors[0])
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


def _people(manager, owner, qa, executive, engineer):
    """Plain arguments, for the threads that cannot take fixtures."""
    return dict(manager=manager, owner=owner, qa=qa, executive=executive, engineer=engineer)


def _criterion_events(criterion):
    return list(
        TrainEvent.objects.filter(data__criterion=criterion.pk).order_by("created_at", "id")
    )


def test_ticking_the_same_criterion_from_many_threads_records_one_change(
    manager, owner, qa, executive, engineer
):
    train, *_ = drive(
        make_train(manager), "verification", **_people(manager, owner, qa, executive, engineer)
    )
    criterion = services.criterion_add(
        train=train, by=manager, phase="verification", description="Security review passed"
    )
    stale = [fresh(criterion) for _ in range(8)]
    results = _race(
        *[(lambda c=c: services.criterion_set_met(criterion=c, by=qa, met=True)) for c in stale]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    criterion = fresh(criterion)
    assert criterion.met_at is not None and criterion.met_by == qa
    events = _criterion_events(criterion)
    assert [e.data["met"] for e in events] == [True]


def test_ticking_and_unticking_at_once_writes_one_row_per_real_change(
    manager, owner, qa, executive, engineer
):
    train, *_ = drive(
        make_train(manager), "verification", **_people(manager, owner, qa, executive, engineer)
    )
    criterion = services.criterion_add(
        train=train, by=manager, phase="verification", description="Security review passed"
    )
    calls = [(fresh(criterion), qa if i % 3 else manager, i % 2 == 0) for i in range(10)]
    results = _race(
        *[
            (lambda c=c, by=by, met=met: services.criterion_set_met(criterion=c, by=by, met=met))
            for c, by, met in calls
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    events = [e.data["met"] for e in _criterion_events(criterion)]
    # Each row is a real change: the state flips every time, starting from unticked.
    assert events and all(a != b for a, b in zip([False, *events], events, strict=False))
    assert (fresh(criterion).met_at is not None) == events[-1]


def test_same_train_name_submitted_at_once_creates_one_train(manager):
    from tests.factories import schedule

    def submit():
        return services.train_create(
            by=manager,
            name="2027.05 May train",
            train_type="minor",
            primary_manager=manager,
            **schedule(),
        )

    results = _race(*[submit] * 4)
    assert sum(isinstance(r, ReleaseTrain) for r in results) == 1, results
    refused = [r for r in results if not isinstance(r, ReleaseTrain)]
    assert all(isinstance(r, ValidationError) and "name" in r.message_dict for r in refused)
    assert ReleaseTrain.objects.filter(name="2027.05 May train").count() == 1


def test_same_application_and_version_registered_at_once_are_refused_in_words(owner):
    results = _race(
        *[
            lambda: application_services.application_create(
                by=owner, name="Payments", product_owner=owner
            )
        ]
        * 4
    )
    assert sum(isinstance(r, Application) for r in results) == 1, results
    assert all(isinstance(r, Application | ValidationError) for r in results), results
    application = Application.objects.get(name="Payments")
    results = _race(
        *[
            lambda: application_services.release_create(
                by=owner, application=application, version="2.0.0"
            )
        ]
        * 4
    )
    assert sum(isinstance(r, ApplicationRelease) for r in results) == 1, results
    assert all(isinstance(r, ApplicationRelease | ValidationError) for r in results), results


def test_one_release_added_to_two_trains_at_once_joins_one(manager, owner):
    first, second = make_train(manager), make_train(manager)
    release = ReleaseFactory(application__product_owner=owner)
    results = _race(
        lambda: services.release_add(train=first, release=fresh(release), by=manager),
        lambda: services.release_add(train=second, release=fresh(release), by=manager),
    )
    assert sum(r is None for r in results) == 1, results
    assert sum(isinstance(r, ServiceError) for r in results) == 1
    assert fresh(release).train_id in (first.pk, second.pk)
    assert TrainEvent.objects.filter(kind="release", data__release=release.pk).count() == 1


def test_turnover_accepted_and_rejected_at_once_is_decided_once(
    manager, owner, qa, executive, engineer
):
    from tests.factories import UserFactory

    engineer2 = UserFactory(username="engineer2", roles=["release_engineers"])
    train, _, exe, releases = drive(
        make_train(manager),
        "executive_approval",
        **_people(manager, owner, qa, executive, engineer),
    )
    services.decision_record(requirement=exe, by=executive, approve=True)
    turnover = services.turnover_submit(release=fresh(releases[0]), by=owner, description="v1")
    results = _race(
        lambda: services.turnover_decide(turnover=fresh(turnover), by=engineer, accept=True),
        lambda: services.turnover_decide(
            turnover=fresh(turnover), by=engineer2, accept=False, reason="Runbook missing"
        ),
    )
    assert sum(isinstance(r, Turnover) for r in results) == 1, results
    assert sum(isinstance(r, ServiceError) for r in results) == 1
    assert TrainEvent.objects.filter(kind="turnover", data__turnover=turnover.pk).count() == 2


def test_approve_and_reject_at_once_never_pass_the_gate(
    manager, owner, qa, executive, executive2, engineer
):
    train, _, exe, _ = drive(
        make_train(manager),
        "executive_approval",
        **_people(manager, owner, qa, executive, engineer),
        exec_needed=2,
    )
    _race(
        lambda: services.decision_record(requirement=exe, by=executive, approve=True),
        lambda: services.decision_record(
            requirement=exe, by=executive2, approve=False, comment="Not ready"
        ),
    )
    train = fresh(train)
    assert train.state == "verification"
    assert train.events.filter(transition="approve_executive").count() == 0
    assert train.events.filter(transition="reject_executive").count() == 1


# Through the pages and the API: the same races answered without a single 500 ---------------


def _clients(user, n):
    clients = [Client(raise_request_exception=False) for _ in range(n)]
    for client in clients:
        client.force_login(user)
    return clients


def _messages(response) -> str:
    """The flash messages of a page (the alerts in #messages)."""
    return " | ".join(
        re.findall(r'role="alert">\s*(.*?)\s*<button', response.content.decode(), re.S)
    )


def test_pressing_a_step_on_eight_pages_at_once_answers_each_in_words(manager, owner, executive):
    train = make_train(manager)
    scope(train, manager=manager, owner=owner)
    url = f"/trains/{train.pk}/start_construction/"
    responses = _race(
        *[
            (lambda c=c: c.post(url, {"state": "scoping"}, follow=True))  # as the page sends
            for c in _clients(manager, 8)
        ]
    )
    assert [r.status_code for r in responses] == [200] * 8, responses
    pages = [_messages(r) for r in responses]
    assert sum("Start construction: done." in p for p in pages) == 1
    losers = [p for p in pages if "Start construction: done." not in p]
    assert len(losers) == 7
    assert all("You have moved this train already: it is now in construction" in p for p in losers)
    assert fresh(train).events.filter(transition="start_construction").count() == 1


def test_ticking_a_criterion_on_many_pages_at_once_answers_without_error(
    manager, owner, qa, executive, engineer
):
    train, *_ = drive(
        make_train(manager), "verification", **_people(manager, owner, qa, executive, engineer)
    )
    criterion = services.criterion_add(
        train=train, by=manager, phase="verification", description="Security review passed"
    )
    url = f"/trains/{train.pk}/criteria/{criterion.pk}/check/"
    responses = _race(
        *[
            (lambda c=c: c.post(url, {"met": "1", "state": "verification"}, HTTP_HX_REQUEST="true"))
            for c in _clients(qa, 6)
        ]
    )
    assert [r.status_code for r in responses] == [200] * 6, responses
    assert [e.data["met"] for e in _criterion_events(criterion)] == [True]


def test_two_executives_completing_a_quorum_on_their_pages_pass_the_gate_once(
    manager, owner, qa, executive, executive2, engineer
):
    train, _, exe, _ = drive(
        make_train(manager),
        "executive_approval",
        **_people(manager, owner, qa, executive, engineer),
        exec_needed=2,
    )
    url = f"/trains/{train.pk}/decide/"
    data = {"requirement": exe.pk, "approve": "1", "next": "inbox"}
    (first,), (second,) = _clients(executive, 1), _clients(executive2, 1)
    responses = _race(lambda: first.post(url, data), lambda: second.post(url, data))
    assert [r.status_code for r in responses] == [302, 302], responses
    train = fresh(train)
    assert train.state == "deployment"
    assert train.events.filter(transition="approve_executive").count() == 1
    assert ApprovalDecision.objects.filter(requirement=exe).count() == 2


def test_deploying_twice_from_the_page_at_once_closes_once(manager, owner, qa, executive, engineer):
    train, *_ = drive(
        make_train(manager), "deployment", **_people(manager, owner, qa, executive, engineer)
    )
    url = f"/trains/{train.pk}/deploy/"
    responses = _race(
        *[
            (lambda c=c: c.post(url, {"succeeded": "1", "state": "deployment"}, follow=True))
            for c in _clients(engineer, 2)
        ]
    )
    assert [r.status_code for r in responses] == [200, 200], responses
    pages = [_messages(r) for r in responses]
    assert sum("Deployment succeeded" in p for p in pages) == 1, pages
    assert sum("You have moved this train already" in p for p in pages) == 1
    assert fresh(train).deployments.count() == 1


def test_registering_one_application_on_four_pages_at_once_answers_without_error(owner):
    responses = _race(
        *[
            (lambda c=c: c.post("/applications/", {"name": "Ledger", "product_owner": owner.pk}))
            for c in _clients(owner, 4)
        ]
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 302], responses
    assert Application.objects.filter(name="Ledger").count() == 1


def test_the_api_answers_a_crowd_pressing_one_step_with_one_200_and_409s(manager, owner, executive):
    from rest_framework.test import APIClient

    train = make_train(manager)
    scope(train, manager=manager, owner=owner)
    _, token = api_services.token_create(user=manager, name="race")
    clients = []
    for _ in range(6):
        client = APIClient(raise_request_exception=False)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        clients.append(client)
    url = f"/api/v1/trains/{train.pk}/transitions/start_construction/"
    responses = _race(*[(lambda c=c: c.post(url, {}, format="json")) for c in clients])
    assert sorted(r.status_code for r in responses) == [200] + [409] * 5, responses
    assert fresh(train).events.filter(transition="start_construction").count() == 1


def test_connection_is_postgresql():
    assert connection.vendor == "postgresql"
