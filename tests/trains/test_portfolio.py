"""The portfolio: every train one may see on one time axis."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import make_train, schedule
from trains import services
from trains.choices import TrainType
from trains.selectors.portfolio import Window, Zoom

pytestmark = pytest.mark.django_db


def test_the_window_is_a_quarter_month_or_year_with_neighbours():
    q = Window.around(date(2026, 11, 30), Zoom.QUARTER)
    assert (q.first, q.last, q.title) == (date(2026, 10, 1), date(2026, 12, 31), "Q4 2026")
    assert (q.following().first, q.previous().first) == (date(2027, 1, 1), date(2026, 7, 1))
    m = Window.around(date(2028, 2, 29), Zoom.MONTH)
    assert (m.first, m.last, m.title) == (date(2028, 2, 1), date(2028, 2, 29), "February 2028")
    assert m.previous().first == date(2028, 1, 1) and m.following().last == date(2028, 3, 31)
    y = Window.around(date(2026, 12, 31), Zoom.YEAR)
    assert (y.first, y.last, y.following().first) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
        date(2027, 1, 1),
    )
    assert q.x(date(2026, 10, 1)) == "0.00%" and q.x(date(2027, 1, 1)) == "100.00%"
    assert q.width(date(2026, 9, 1), date(2026, 10, 1)) == f"{100 / 92:.2f}%"  # clipped


def test_each_visible_train_is_a_row_linking_to_it(client, manager, other_manager, stakeholder):
    today = timezone.localdate()
    mine = make_train(manager, name="Mine", **schedule(today))
    shared = make_train(other_manager, name="Shared", **schedule(today))
    make_train(other_manager, name="Not shared", **schedule(today))
    services.train_grant(train=shared, by=other_manager, user=stakeholder)
    client.force_login(stakeholder)
    html = client.get("/portfolio/").content.decode()
    assert f'href="/trains/{shared.pk}/"' in html
    assert "Not shared" not in html and "Mine" not in html
    client.force_login(manager)
    html = client.get("/portfolio/").content.decode()
    assert f'href="/trains/{mine.pk}/"' in html and "Shared" not in html
    assert 'class="tl-today"' in html and "Today " in html
    assert "pf-phase pf-scoping pf-current" in html  # its phase now, drawn as such
    assert f"due {mine.phases.get(kind='scoping').planned_end:%-d %b}" in html


def test_rows_group_by_type_or_manager(client, manager, other_manager, stakeholder):
    today = timezone.localdate()
    a = make_train(manager, name="Alpha", train_type=TrainType.PATCH, **schedule(today))
    b = make_train(other_manager, name="Beta", **schedule(today))
    for train, by in ((a, manager), (b, other_manager)):
        services.train_grant(train=train, by=by, user=stakeholder)
    client.force_login(stakeholder)
    chart = client.get("/portfolio/").context["chart"]
    assert [(g.label, [r.train.name for r in g.rows]) for g in chart.groups] == [
        ("Minor", ["Beta"]),
        ("Patch", ["Alpha"]),
    ]
    chart = client.get("/portfolio/?group=manager").context["chart"]
    assert [g.label for g in chart.groups] == ["manager", "other_manager"]


def test_filters_zoom_and_cancelled_trains(client, manager):
    today = timezone.localdate()
    make_train(manager, name="Later", **schedule(today + timedelta(days=400)))
    gone = make_train(manager, name="Gone", **schedule(today))
    services.train_transition(train=gone, name="cancel", by=manager, reason="not needed")
    make_train(manager, name="Patchy", train_type=TrainType.PATCH, **schedule(today))
    client.force_login(manager)
    html = client.get("/portfolio/").content.decode()
    assert "Patchy" in html and "Later" not in html and "Gone" not in html
    assert "Gone" in client.get("/portfolio/?state=cancelled").content.decode()
    assert "Patchy" not in client.get("/portfolio/?train_type=major").content.decode()
    # the trains list's search box, shared: it filters here too (it used to answer 500)
    searched = client.get("/portfolio/?q=patch").content.decode()
    assert "Patchy" in searched and "Later" not in searched
    assert client.get("/metrics/?q=patch").status_code == 200
    assert client.get("/api/v1/metrics/?q=patch").status_code == 200
    later = (today + timedelta(days=420)).isoformat()
    assert "Later" in client.get(f"/portfolio/?zoom=year&at={later}").content.decode()
    assert "No train you may see runs" in client.get("/portfolio/?at=1999-01-01").content.decode()
    assert client.get("/portfolio/?at=soon").status_code == 400
    assert client.get("/portfolio/?zoom=decade").context["zoom"] == Zoom.QUARTER


def test_the_portfolio_costs_the_same_for_many_trains(
    client, manager, django_assert_max_num_queries
):
    today = timezone.localdate()
    client.force_login(manager)

    def count() -> int:
        client.get("/portfolio/")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/portfolio/").status_code == 200
        return len(ctx.captured_queries)

    for i in range(2):
        train = make_train(manager, name=f"First {i}", **schedule(today))
        services.milestone_add(train=train, by=manager, name="M", due_date=today)
    few = count()
    for i in range(20):
        train = make_train(manager, name=f"More {i}", **schedule(today))
        services.milestone_add(train=train, by=manager, name="M", due_date=today)
    services.health_override_set(  # a row names who set its health: read with the rows
        train=train, by=manager, health="red", reason="Vendor late", until=today + timedelta(3)
    )
    assert count() == few
    assert "Health: Red (set)" in client.get("/portfolio/").content.decode()
    # session, user with its groups; the trains with their phases and their milestones
    # in the window, the freeze windows; the manager filter's choices
    with django_assert_max_num_queries(6):
        client.get("/portfolio/")


def test_signed_out_people_are_sent_to_sign_in(client):
    assert client.get("/portfolio/").status_code == 302


def test_freeze_windows_are_shaded_bands(client, manager):
    from trains.models import FreezeWindow

    today = timezone.localdate()
    make_train(manager, name="Frozen", **schedule(today))
    FreezeWindow.objects.create(
        name="Year end", start=today, end=today + timedelta(days=3), created_by=manager
    )
    client.force_login(manager)
    html = client.get("/portfolio/").content.decode()
    assert f"<title>Freeze: Year end, {today:%Y-%m-%d} to " in html
    assert 'class="pf-freeze"' in html


def test_each_row_shows_the_trains_health_as_its_status_banner_does(client, manager):
    today = timezone.localdate()
    on_track = make_train(manager, name="On track", **schedule(today))
    late = make_train(manager, name="Late", **schedule(today - timedelta(days=10)))
    client.force_login(manager)
    html = client.get(f"/portfolio/?at={today:%Y-%m-%d}").content.decode()
    rows = {
        name: html.split(f">{name}</a>", 1)[1].split("</li>", 1)[0] for name in ("On track", "Late")
    }
    assert "Health: Green" in rows["On track"] and "On track" in rows["On track"]
    assert "Health: Red" in rows["Late"] and "Scoping is 3 days overdue" in rows["Late"]
    assert "overdue since" in rows["Late"]
    for train, words in ((on_track, "Green"), (late, "Red")):
        banner = client.get(f"/trains/{train.pk}/").content.decode()
        assert f"Health: {words}" in banner


def test_more_trains_than_the_cap_draws_those_that_start_first_and_says_so(
    client, manager, monkeypatch
):
    import trains.selectors.portfolio as portfolio

    monkeypatch.setattr(portfolio, "PORTFOLIO_CAP", 2)
    today = timezone.localdate()
    first = make_train(manager, name="First", **schedule(today - timedelta(days=2)))
    second = make_train(manager, name="Second", **schedule(today - timedelta(days=1)))
    client.force_login(manager)
    html = client.get("/portfolio/").content.decode()
    assert 'id="portfolio-more"' not in html  # two trains: the chart draws them all

    third = make_train(manager, name="Third", **schedule(today))
    response = client.get("/portfolio/")
    html = response.content.decode()
    drawn = [row.train.pk for group in response.context["chart"].groups for row in group.rows]
    assert sorted(drawn) == sorted([first.pk, second.pk])
    assert f'href="/trains/{third.pk}/"' not in html
    assert 'id="portfolio-more"' in html
    assert "More than 2 trains run in Q" in html and "draws the 2 that start first" in html


def test_names_in_the_strips_are_escaped(client, manager):
    """The strips' numbers go out unescaped (the body's autoescape is off there); every
    text in them is escaped."""
    today = timezone.localdate()
    train = make_train(manager, name='Q"><script>alert(1)</script>', **schedule(today))
    services.milestone_add(
        train=train, by=manager, name="<img src=x onerror=alert(2)>", due_date=today
    )
    client.force_login(manager)
    html = client.get("/portfolio/").content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert 'aria-label="Q&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;,' in html
    assert "<title>&lt;img src=x onerror=alert(2)&gt;: due " in html
