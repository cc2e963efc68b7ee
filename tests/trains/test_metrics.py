"""The metrics, computed by hand from a small known history.

Two trains are driven through the services on a fixed calendar (the clock moved with
time-machine), so that every history row is what the application writes:

Train A, minor, submitted 2025-01-06 09:00; phases planned to end 01-13, 01-20, 01-27,
02-03. Construction starts 01-10 (scoping on time), development approval is requested
01-22 and given 01-24 (construction 4 days late, the gate waited 2 days), executive
approval requested 01-28 and given 01-29 (verification 2 days late, waited 1 day); a
deployment fails 02-01 09:00 and one succeeds 02-02 21:00 (on time; restored in 1.5
days; lead time 27.5 days).

Train B, emergency, submitted 2025-02-10 09:00; phases planned to end 02-12, 02-14,
02-16, 02-18. Construction starts 02-13 (scoping 1 day late); development approval
requested 02-14 09:00, rejected 02-15 09:00 ("Billing tax rules missing"), requested
again 02-15 12:00 and given 02-16 12:00 (construction 2 days late; waits 1 and 1);
executive approval requested 02-16 13:00, rejected 02-17 13:00 ("Tax rules report
missing"), requested 02-17 14:00, given 02-18 14:00 (verification 2 days late; waits 1
and 1); deployed 02-18 16:00 (on time; lead time 8 days 7 hours).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals.models import Gate
from tests.factories import fresh, make_train, schedule, scope
from trains import services
from trains.access import trains_for
from trains.choices import PhaseKind, TrainType
from trains.models import ReleaseTrain
from trains.selectors.metrics import (
    ROWS,
    SNAPSHOT_SECONDS,
    MonthCount,
    Period,
    metric_rows,
    metrics,
    metrics_snapshot,
)

pytestmark = pytest.mark.django_db

JAN, FEB = date(2025, 1, 1), date(2025, 2, 1)
PERIOD = Period(date(2025, 1, 1), date(2025, 3, 31))


@contextmanager
def on(month: int, day: int, hour: int = 9, minute: int = 0):
    with time_machine.travel(datetime(2025, month, day, hour, minute, tzinfo=UTC), tick=False):
        yield


def _tick_qa(train, qa):
    check = fresh(train).criteria.get(phase=PhaseKind.VERIFICATION, rule="manual")
    services.criterion_set_met(criterion=check, by=qa, met=True)


def _hand_over(releases, owner, engineer):
    for release in releases:
        turnover = services.turnover_submit(release=fresh(release), by=owner, description="x")
        services.turnover_decide(turnover=turnover, by=engineer, accept=True)


def _develop(releases, owner):
    for release in releases:
        release = services.release_transition(
            release=fresh(release), name="start_development", by=owner
        )
        services.release_transition(release=release, name="complete_development", by=owner)


@pytest.fixture
def history(manager, owner, qa, executive, engineer):
    with on(1, 6):
        a = make_train(manager, name="A", train_type=TrainType.MINOR, **schedule(date(2025, 1, 6)))
        dev, exe, releases = scope(a, manager=manager, owner=owner, releases=1)
    with on(1, 10):
        services.train_transition(train=fresh(a), name="start_construction", by=manager)
    with on(1, 22):
        _develop(releases, owner)  # requests development approval
    with on(1, 24):
        services.decision_record(requirement=dev, by=manager, approve=True)
        _tick_qa(a, qa)
    with on(1, 28):
        services.train_transition(train=fresh(a), name="request_executive_approval", by=manager)
    with on(1, 29):
        services.decision_record(requirement=exe, by=executive, approve=True)
        _hand_over(releases, owner, engineer)
    with on(2, 1):
        services.train_deploy(train=fresh(a), by=engineer, succeeded=False, log="smoke failed")
    with on(2, 2, 21):
        services.train_deploy(train=fresh(a), by=engineer, succeeded=True)

    with on(2, 10):
        b = make_train(
            manager,
            name="B",
            train_type=TrainType.EMERGENCY,
            **schedule(date(2025, 2, 10), step=2),
        )
        dev, exe, releases = scope(b, manager=manager, owner=owner, releases=1)
    with on(2, 13):
        services.train_transition(train=fresh(b), name="start_construction", by=manager)
    with on(2, 14):
        _develop(releases, owner)
    with on(2, 15):
        services.decision_record(
            requirement=dev, by=manager, approve=False, comment="Billing tax rules missing"
        )
    with on(2, 15, 12):
        release = services.release_transition(
            release=fresh(releases[0]), name="reopen_development", by=owner
        )
        services.release_transition(release=release, name="complete_development", by=owner)
    with on(2, 16, 12):
        services.decision_record(requirement=dev, by=manager, approve=True)
        _tick_qa(b, qa)
    with on(2, 16, 13):
        services.train_transition(train=fresh(b), name="request_executive_approval", by=manager)
    with on(2, 17, 13):
        services.decision_record(
            requirement=exe, by=executive, approve=False, comment="Tax rules report missing."
        )
    with on(2, 17, 14):
        services.train_transition(train=fresh(b), name="request_executive_approval", by=manager)
    with on(2, 18, 14):
        services.decision_record(requirement=exe, by=executive, approve=True)
        _hand_over(releases, owner, engineer)
    with on(2, 18, 16):
        services.train_deploy(train=fresh(b), by=engineer, succeeded=True)
    return fresh(a), fresh(b)


def _figures(django_assert_max_num_queries, trains=None):
    # the counts by month, the spreads, the approvers, the rejections' reasons
    trains = ReleaseTrain.objects.all() if trains is None else trains
    with django_assert_max_num_queries(4):
        return metrics(trains=trains, period=PERIOD)


def test_on_time_rate_per_phase_kind_and_month(history, django_assert_max_num_queries):
    m = _figures(django_assert_max_num_queries)
    assert m.months == [JAN, FEB, date(2025, 3, 1)]
    hits = {
        kind: {month: (c.total, c.hits) for month, c in months.items()}
        for kind, months in m.on_time.items()
    }
    assert hits == {
        PhaseKind.SCOPING: {JAN: (1, 1), FEB: (1, 0)},
        PhaseKind.CONSTRUCTION: {JAN: (1, 0), FEB: (1, 0)},
        PhaseKind.VERIFICATION: {JAN: (1, 0), FEB: (1, 0)},
        PhaseKind.DEPLOYMENT: {FEB: (2, 2)},
    }
    assert m.on_time_total() == (8, 3)
    assert m.on_time_total(PhaseKind.DEPLOYMENT) == (2, 2)
    assert [(c.month, c.total, c.hits) for c in m.on_time_by_month()] == [
        (JAN, 3, 1),
        (FEB, 5, 2),
        (date(2025, 3, 1), 0, 0),
    ]


def test_slip_median_and_p90_per_phase_kind(history, django_assert_max_num_queries):
    m = _figures(django_assert_max_num_queries)
    slip = {kind: (s.count, s.median, s.p90, s.largest) for kind, s in m.slip.items()}
    # scoping [0, 1]; construction [2, 4]; verification [2, 2]; deployment [0, 0]
    assert slip == {
        PhaseKind.SCOPING: (2, 0.5, pytest.approx(0.9), 1),
        PhaseKind.CONSTRUCTION: (2, 3, pytest.approx(3.8), 4),
        PhaseKind.VERIFICATION: (2, 2, 2, 2),
        PhaseKind.DEPLOYMENT: (2, 0, 0, 0),
    }


def test_approval_wait_per_gate_and_who_it_sat_with(history, django_assert_max_num_queries):
    m = _figures(django_assert_max_num_queries)
    wait = {gate: (s.count, s.median, s.p90) for gate, s in m.approval_wait.items()}
    # development rounds waited [1, 1, 2] days: p90 at rank 2.8, 1 + 0.8 × (2 − 1)
    assert wait == {
        Gate.DEVELOPMENT: (3, pytest.approx(1), pytest.approx(1.8)),
        Gate.EXECUTIVE: (3, pytest.approx(1), pytest.approx(1)),
    }
    assert [(a.gate, a.name, a.decisions) for a in m.approvers] == [
        (Gate.DEVELOPMENT, "manager", 3),
        (Gate.EXECUTIVE, "group Executives", 3),
    ]
    assert m.approvers[0].longest_days == pytest.approx(2)
    assert m.approvers[0].mean_days == pytest.approx(4 / 3)
    assert m.approvers[1].longest_days == pytest.approx(1)


def test_lead_time_per_type(history, django_assert_max_num_queries):
    m = _figures(django_assert_max_num_queries)
    lead = {t: (s.count, s.median, s.p90) for t, s in m.lead_time.items()}
    assert lead == {
        TrainType.MINOR: (1, pytest.approx(27.5), pytest.approx(27.5)),
        TrainType.EMERGENCY: (1, pytest.approx(8 + 7 / 24), pytest.approx(8 + 7 / 24)),
    }


def test_deployments_failure_rate_and_time_to_restore(history, django_assert_max_num_queries):
    m = _figures(django_assert_max_num_queries)
    assert {month: (c.total, c.hits) for month, c in m.deployments.items()} == {FEB: (3, 1)}
    assert m.deployment_total() == (3, 1)  # change failure rate 1/3
    assert (m.restore.count, m.restore.median) == (1, pytest.approx(1.5))


def test_rejections_per_gate_with_their_words(history, django_assert_max_num_queries):
    m = _figures(django_assert_max_num_queries)
    assert m.rejection_total(Gate.DEVELOPMENT) == 1
    assert m.rejection_total(Gate.EXECUTIVE) == 1
    assert m.rejection_words == {
        Gate.DEVELOPMENT: [("billing", 1), ("missing", 1), ("rules", 1), ("tax", 1)],
        Gate.EXECUTIVE: [("missing", 1), ("report", 1), ("rules", 1), ("tax", 1)],
    }


def test_emergency_share_per_month(history, django_assert_max_num_queries):
    m = _figures(django_assert_max_num_queries)
    assert m.closed == {FEB: MonthCount(FEB, 2, 1)}
    assert m.closed_total() == (2, 1)


def test_a_period_without_the_history_is_empty(history):
    m = metrics(
        trains=ReleaseTrain.objects.all(), period=Period(date(2025, 3, 1), date(2025, 3, 31))
    )
    assert m.on_time == {} and m.slip == {} and m.approval_wait == {} and m.approvers == []
    assert m.deployment_total() == (0, 0) and m.restore is None and m.closed == {}


def test_period_edges_are_whole_days(history):
    # A's success at 02-02 21:00 counts on 02-02 and not from 02-03
    through = metrics(trains=ReleaseTrain.objects.all(), period=Period(JAN, date(2025, 2, 2)))
    after = metrics(
        trains=ReleaseTrain.objects.all(), period=Period(date(2025, 2, 3), FEB.replace(day=28))
    )
    assert through.deployment_total() == (2, 1)
    assert after.deployment_total() == (1, 0)


def test_csv_rows_are_the_rows_counted(history):
    a, b = history
    rows = list(metric_rows("restore", trains=ReleaseTrain.objects.all(), period=PERIOD))
    assert [(r[0], r[1], r[4]) for r in rows] == [(a.pk, "A", pytest.approx(1.5))]
    ended = list(metric_rows("on-time", trains=ReleaseTrain.objects.all(), period=PERIOD))
    assert len(ended) == 8 and sum(1 for r in ended if r[-1]) == 3
    waits = list(metric_rows("approval-wait", trains=ReleaseTrain.objects.all(), period=PERIOD))
    assert sorted(round(r[-2], 3) for r in waits) == [1, 1, 1, 1, 1, 2]


def test_a_manager_gets_the_figures_of_the_trains_they_see(
    manager, other_manager, owner, qa, executive, engineer, django_assert_max_num_queries
):
    """Ten trains closed, three of them led by this manager: the figures are those three's,
    as the access policy (`trains_for`) gives them, and the same as for those three alone."""
    led = []
    for i in range(10):
        lead = manager if i in (1, 4, 7) else other_manager
        day = 3 + i
        with on(3, day):
            train = make_train(
                lead,
                name=f"T{i}",
                train_type=TrainType.EMERGENCY if i % 2 else TrainType.PATCH,
                **schedule(date(2025, 3, day), step=2),
            )
            dev, exe, releases = scope(train, manager=lead, owner=owner, releases=1)
            services.train_transition(train=fresh(train), name="start_construction", by=lead)
            _develop(releases, owner)
        with on(3, day, 12):
            services.decision_record(requirement=dev, by=lead, approve=True)
            _tick_qa(train, qa)
            services.train_transition(
                train=fresh(train), name="request_executive_approval", by=lead
            )
        with on(3, day, 15):
            services.decision_record(requirement=exe, by=executive, approve=True)
            _hand_over(releases, owner, engineer)
            if i % 3 == 0:
                services.train_deploy(train=fresh(train), by=engineer, succeeded=False)
        with on(3, day, 18):
            services.train_deploy(train=fresh(train), by=engineer, succeeded=True)
        if lead == manager:
            led.append(train.pk)
    visible = trains_for(manager, "view")
    assert sorted(visible.values_list("pk", flat=True)) == sorted(led)
    mine = _figures(django_assert_max_num_queries, visible)
    alone = metrics(trains=ReleaseTrain.objects.filter(pk__in=led), period=PERIOD)
    everyone = metrics(trains=ReleaseTrain.objects.all(), period=PERIOD)
    # T1, T4 and T7: emergency, patch, emergency; T4 and T7 had no failure
    assert mine.closed_total() == (3, 2)
    assert mine.deployment_total() == (3, 0)
    assert mine.restore is None
    assert mine.on_time_total() == alone.on_time_total() == (12, 12)
    assert mine.lead_time[TrainType.EMERGENCY].count == 2
    assert mine == alone
    assert everyone.closed_total() == (10, 5)
    assert everyone.deployment_total() == (14, 4)  # T0, T3, T6, T9 failed once


# The page ------------------------------------------------------------------------------------

PAGE = "/metrics/?first=2025-01-01&last=2025-03-31"


def test_the_page_draws_each_figure_with_its_numbers(
    client, manager, history, django_assert_max_num_queries
):
    client.force_login(manager)
    client.get(PAGE)  # warm: a new connection checks once what its database supports
    # session, user with its groups, the navigation's inbox count (an approver); the
    # figures' key (the trains' ids, the newest changes); the counts by month, the spreads,
    # the approvers, the rejections' reasons; the manager filter's choices
    with django_assert_max_num_queries(9):
        response = client.get(PAGE + "&fresh=1")
    assert response.status_code == 200
    html = response.content.decode()
    assert "38% of 8 phases on time" in html  # 3 of 8
    assert "median 1.5 days, 90th percentile 2.6 days" in html  # slip [0,0,0,1,2,2,2,4]
    assert "change failure rate 33%" in html and "time to restore 1.5 days" in html
    assert "50% of 2 trains deployed" in html  # emergency share
    assert html.count('<svg class="chart-svg"') == 7
    assert "<title>Feb, On time: 40% (2 of 5 phases)</title>" in html
    assert "billing" in html and "report" in html
    assert 'href="/metrics/on-time.csv?first=2025-01-01&amp;last=2025-03-31"' in html


def test_an_empty_period_says_so(client, manager, history):
    client.force_login(manager)
    html = client.get("/metrics/?first=2024-01-01&last=2024-03-31").content.decode()
    assert "No phase ended in this period." in html
    assert "No deployment was attempted in this period." in html
    assert 'class="chart-svg"' not in html


def test_the_default_period_is_the_last_90_days(client, manager):
    client.force_login(manager)
    response = client.get("/metrics/")
    period = response.context["period"]
    assert period.days == 90 and period.last == timezone.localdate()


def test_a_bad_period_is_a_form_error_not_a_500(client, manager):
    client.force_login(manager)
    response = client.get("/metrics/?first=2025-03-01&last=2025-01-01")
    assert response.status_code == 200
    assert "The period must end on or after its first day." in response.content.decode()
    response = client.get("/metrics/?first=yesterday&last=2025-01-01")
    assert "From: Enter a valid date." in response.content.decode()
    assert client.get("/metrics/on-time.csv?first=nope&last=2025-01-01").status_code == 400


def test_filters_are_the_trains_lists(client, manager, history):
    client.force_login(manager)
    html = client.get(PAGE + "&train_type=emergency").content.decode()
    assert "100% of 1 trains deployed" in html or "100% of 1 train deployed" in html


@pytest.mark.parametrize("who", ["stakeholder", "owner", "qa", "engineer"])
def test_only_managers_and_executives_read_metrics(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/metrics/").status_code == 403
    assert client.get("/metrics/on-time.csv").status_code == 403


def test_executives_read_metrics(client, executive):
    client.force_login(executive)
    assert client.get("/metrics/").status_code == 200


def test_signed_out_people_are_sent_to_sign_in(client):
    assert client.get("/metrics/").status_code == 302


def test_each_csv_lists_the_rows_counted(client, manager, history):
    a, b = history
    client.force_login(manager)
    response = client.get("/metrics/restore.csv?first=2025-01-01&last=2025-03-31")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "train id,train,failed,restored,days to restore"
    assert len(lines) == 2 and lines[1].startswith(f"{a.pk},A,")
    for name in ROWS:
        assert client.get(f"/metrics/{name}.csv?{PAGE.split('?')[1]}").status_code == 200
    assert client.get("/metrics/nothing.csv").status_code == 404


# The figures as last computed --------------------------------------------------------------


def _computed_at(response) -> datetime:
    assert response.status_code == 200
    return response.context["figures"].computed_at


def test_the_figures_are_kept_until_something_they_count_changes(
    client, manager, qa, history, django_assert_max_num_queries
):
    client.force_login(manager)
    first = _computed_at(client.get(PAGE))
    # session, user, inbox count, the figures' key, the manager filter's choices
    with django_assert_max_num_queries(5):
        again = client.get(PAGE)
    assert _computed_at(again) == first
    assert "Figures as of" in again.content.decode()
    assert 'href="?first=2025-01-01&amp;last=2025-03-31&amp;fresh=1">Compute now' in (
        again.content.decode()
    )
    asked = _computed_at(client.get(PAGE + "&fresh=1"))
    assert asked > first
    assert _computed_at(client.get(PAGE)) == asked
    # any change to a train writes its history: the next view counts again
    a, _ = history
    services.train_grant(train=fresh(a), by=manager, user=qa)
    assert _computed_at(client.get(PAGE)) > asked


def test_kept_figures_expire(client, manager, history):
    client.force_login(manager)
    first = _computed_at(client.get(PAGE))
    with time_machine.travel(timezone.now() + timedelta(seconds=SNAPSHOT_SECONDS - 5)):
        assert _computed_at(client.get(PAGE)) == first
    with time_machine.travel(timezone.now() + timedelta(seconds=SNAPSHOT_SECONDS + 5)):
        assert _computed_at(client.get(PAGE)) > first


def test_kept_figures_are_of_exactly_the_trains_one_sees(manager, other_manager, owner, history):
    """Joining a group a train is shared with changes one's figures at once (no history
    row is written for it), and someone who sees the same trains is given the same
    figures."""
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    a, b = history
    with on(2, 3):
        theirs = make_train(other_manager, name="Theirs", **schedule(date(2025, 2, 3)))
        scope(theirs, manager=other_manager, owner=owner, releases=1)
    with on(2, 5):
        services.train_transition(train=fresh(theirs), name="start_construction", by=other_manager)
    readers = Group.objects.create(name="Readers")
    assign_perm("view_releasetrain", readers, theirs)
    before = metrics_snapshot(trains=trains_for(manager, "view"), period=PERIOD)
    assert before.on_time_total() == (8, 3)
    manager.groups.add(readers)
    manager = type(manager).objects.get(pk=manager.pk)  # its groups read again
    joined = metrics_snapshot(trains=trains_for(manager, "view"), period=PERIOD)
    assert joined.on_time_total() == (9, 4)  # Theirs' scoping ended on time
    assert metrics_snapshot(trains=trains_for(other_manager, "view"), period=PERIOD) == (
        metrics(trains=ReleaseTrain.objects.filter(pk=theirs.pk), period=PERIOD)
    )
    same = metrics_snapshot(
        trains=ReleaseTrain.objects.filter(pk__in=[a.pk, b.pk, theirs.pk]), period=PERIOD
    )
    assert same.computed_at == joined.computed_at


def test_the_api_says_when_its_figures_were_computed(client, manager, history):
    client.force_login(manager)
    page = _computed_at(client.get(PAGE))
    data = client.get("/api/v1/metrics/?first=2025-01-01&last=2025-03-31").json()
    assert datetime.fromisoformat(data["computed_at"].replace("Z", "+00:00")) == page
    again = client.get("/api/v1/metrics/?first=2025-01-01&last=2025-03-31&fresh=true").json()
    assert datetime.fromisoformat(again["computed_at"].replace("Z", "+00:00")) > page
