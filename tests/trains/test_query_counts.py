"""Every list and the dashboard run a fixed number of queries, whatever the data size."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from applications.models import Application, ApplicationRelease
from tests.factories import drive, make_train, scope
from trains import services
from trains.filters import Show

pytestmark = pytest.mark.django_db


def _fill(train, owner, n, prefix):
    app = Application.objects.create(name=f"{prefix} app", product_owner=owner)
    ApplicationRelease.objects.bulk_create(
        ApplicationRelease(
            application=app,
            version=f"{i}.0",
            train=train,
            state="development_complete" if i % 2 else "planned",
        )
        for i in range(n)
    )


def _count(client, url):
    client.get(url)  # warm: a new connection checks once what its database supports
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_trains_list_is_constant(client, manager, owner, django_assert_max_num_queries):
    client.force_login(manager)
    _fill(make_train(manager), owner, 2, "first")
    small = _count(client, "/trains/")
    for i in range(50):
        _fill(make_train(manager), owner, 20, f"app{i}")
    # session, user with its groups (auth backend); the trains that might need this
    # manager, with each one's facts and rights (none does: the open tab is shown);
    # paginator count, the page of trains with each one's facts and this person's rights
    # (JSON and EXISTS columns: every row's status without another query), the manager
    # filter's choices. (No inbox count: no approval requirement names the manager.)
    with django_assert_max_num_queries(6):
        response = client.get("/trains/")
    assert response.status_code == 200
    assert response.context["show"] == Show.OPEN
    assert _count(client, "/trains/") == small
    assert "50 trains" not in response.content.decode()  # 51 in all, 25 a page
    assert "Page 1 of 3" in response.content.decode()
    # every other tab as well (closed: nothing to page through)
    for tab, queries in (("open", 6), ("all", 6), ("closed", 5)):
        with django_assert_max_num_queries(queries):
            assert client.get(f"/trains/?show={tab}").status_code == 200


def _ready(manager, owner, people, name):
    train = make_train(manager, name=name)
    scope(train, manager=manager, owner=owner)
    return train


def test_needs_my_action_is_constant(client, people, django_assert_max_num_queries):
    """The default tab of a manager with steps to take and decisions to make."""
    manager, owner = people["manager"], people["owner"]
    client.force_login(manager)
    _ready(manager, owner, people, "first")
    drive(make_train(manager), "development_approval", **people)  # his decision
    small = _count(client, "/trains/")
    for i in range(12):
        _ready(manager, owner, people, f"ready {i}")
        make_train(manager, name=f"blocked {i}")
    # session, user with its groups; the trains waiting for his decision (also the
    # navigation's inbox count); the trains that might need this manager with each one's
    # facts and rights, whose statuses decide (the page is cut from that list: no count,
    # no second read); the manager filter's choices
    with django_assert_max_num_queries(5):
        response = client.get("/trains/")
    assert response.context["show"] == Show.NEEDS
    assert len(response.context["rows"]) == 14
    assert _approvals_badge(response) == 1
    assert _count(client, "/trains/") == small
    # an executive with decisions waiting, the same
    client.force_login(people["executive"])
    for _ in range(3):
        drive(make_train(manager), "executive_approval", **people)
    with django_assert_max_num_queries(5):
        response = client.get("/trains/")
    assert len(response.context["rows"]) == 3
    assert _approvals_badge(response) == 3
    assert _approvals_badge(client.get("/calendar/")) == 3  # as counted on other pages


def _approvals_badge(response):
    (item,) = [i for i in response.context["nav"]["items"] if i["label"] == "Approvals"]
    return item["badge"]


def _big_scoping_train(manager, owner, name):
    train = make_train(manager, name=name)
    _fill(train, owner, 20, name)
    services.requirement_add(train=train, by=manager, gate="development", user=manager)
    services.requirement_add(
        train=train, by=manager, gate="executive", group=Group.objects.get(name="executives")
    )
    for i in range(30):
        services.criterion_add(
            train=train, by=manager, phase="construction", description=f"Check {i}"
        )
        services.milestone_add(train=train, by=manager, name=f"M{i}", due_date=train.start_date)
    return train


def test_dashboard_is_constant(client, people, django_assert_max_num_queries):
    manager, owner = people["manager"], people["owner"]
    client.force_login(manager)
    small = make_train(manager, name="small")
    _fill(small, owner, 1, "small")  # an empty list skips its prefetch query
    big = _big_scoping_train(manager, owner, "big")
    assert big.events.count() > 60
    # session, user with its groups (auth backend), inbox count (navigation); the train
    # with its facts (phases, criteria, approvals, release counts, engineers, the last
    # refusal), its milestones (JSON columns) and the person's rights (EXISTS columns);
    # requirements with their decisions, releases with their turnovers, viewers, events;
    # no deployments before the deployment phase; in scoping also the free releases to
    # add and the people and groups offered as approvers (one UNION). The freeze windows
    # over the timeline come as a JSON column of the train's query.
    assert _count(client, f"/trains/{small.pk}/") == _count(client, f"/trains/{big.pk}/")
    with django_assert_max_num_queries(10):
        assert client.get(f"/trains/{big.pk}/").status_code == 200


def test_dashboard_at_a_gate_is_constant(client, people, django_assert_max_num_queries):
    client.force_login(people["executive"])
    small, *_ = drive(make_train(people["manager"]), "executive_approval", **people)
    big, *_ = drive(make_train(people["manager"]), "executive_approval", releases=20, **people)
    assert _count(client, f"/trains/{small.pk}/") == _count(client, f"/trains/{big.pk}/")
    # as above without the scoping forms and the viewers (for its managers only), and with
    # the releases added or removed since its baseline (taken when construction started)
    with django_assert_max_num_queries(8):
        assert client.get(f"/trains/{big.pk}/").status_code == 200


def test_inbox_is_constant(client, people, django_assert_max_num_queries):
    executive = people["executive"]
    client.force_login(executive)
    drive(make_train(people["manager"]), "executive_approval", **people)
    small = _count(client, "/approvals/")
    for _ in range(5):
        drive(make_train(people["manager"]), "executive_approval", **people)
    # session, user with its groups; pending requirements, their trains with each one's
    # facts and rights (the status); the badge's count comes from the page's own list
    assert _count(client, "/approvals/") == small
    with django_assert_max_num_queries(4):
        assert client.get("/approvals/").status_code == 200


def test_calendar_is_constant(client, manager, django_assert_max_num_queries):
    client.force_login(manager)
    train = make_train(manager)
    month = train.start_date.strftime("%Y-%m")
    small = _count(client, f"/calendar/?month={month}")
    for i in range(20):
        t = make_train(manager, train_type="patch" if i % 2 else "minor")
        services.milestone_add(train=t, by=manager, name="Freeze", due_date=t.start_date)
    # session, user with its groups; phases, milestones and windows of the visible open
    # trains; the freeze windows; the manager filter's choices
    assert _count(client, f"/calendar/?month={month}") == small
    with django_assert_max_num_queries(7):
        assert client.get(f"/calendar/?month={month}").status_code == 200
    # filtered, with the closed and cancelled trains: one more, the chosen manager (the
    # filter's form checks the id)
    filtered = f"/calendar/?month={month}&train_type=patch&manager={manager.pk}&show=all"
    assert _count(client, filtered) == small + 1
    with django_assert_max_num_queries(8):
        response = client.get(filtered)
    assert response.context["month"].window_count == 10


def test_applications_list_is_constant(client, people, django_assert_max_num_queries):
    engineer = people["engineer"]
    client.force_login(engineer)
    drive(make_train(people["manager"]), "construction", **people)
    small = _count(client, "/applications/")
    for i in range(10):
        Application.objects.create(name=f"Extra {i}", product_owner=people["owner"])
    # session, user with its groups; applications with owners, turnovers waiting
    assert _count(client, "/applications/") == small
    with django_assert_max_num_queries(4):
        assert client.get("/applications/").status_code == 200
