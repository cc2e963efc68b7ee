"""/calendar/feed/<token>.ics: valid iCalendar with the deadlines of visible trains only."""

import hashlib
from datetime import timedelta

import pytest
from icalendar import Calendar

from api import services as api_services
from api.models import CalendarFeed
from tests.factories import make_train
from trains import services

pytestmark = pytest.mark.django_db


def feed(client, user):
    _, token = api_services.feed_create(user=user)
    response = client.get(f"/calendar/feed/{token}.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def summaries(calendar):
    return sorted(str(e["SUMMARY"]) for e in calendar.walk("VEVENT"))


def test_feed_has_phase_deadlines_and_milestones_of_visible_trains(
    client, manager, other_manager, stakeholder
):
    mine = make_train(manager, name="Mine")
    services.milestone_add(train=mine, by=manager, name="Code freeze", due_date=mine.start_date)
    make_train(other_manager, name="Secret")
    calendar = feed(client, manager)
    assert calendar["VERSION"] == "2.0"
    assert summaries(calendar) == [
        "Mine: Code freeze",
        "Mine: Construction phase ends",
        "Mine: Deployment phase ends",
        "Mine: Scoping phase ends",
        "Mine: Verification phase ends",
    ]
    freeze = next(e for e in calendar.walk("VEVENT") if "freeze" in str(e["SUMMARY"]))
    assert freeze.decoded("DTSTART") == mine.start_date
    assert freeze.decoded("DTEND") == mine.start_date + timedelta(days=1)
    assert str(freeze["UID"]).startswith("milestone-")
    assert str(freeze["URL"]).endswith(f"/trains/{mine.pk}/")


def test_each_user_sees_only_their_trains(client, manager, other_manager, stakeholder, outsider):
    shared = make_train(other_manager, name="Shared")
    make_train(other_manager, name="Secret")
    services.train_grant(train=shared, by=other_manager, user=stakeholder)
    assert {s.split(":")[0] for s in summaries(feed(client, stakeholder))} == {"Shared"}
    assert summaries(feed(client, outsider)) == []
    assert {s.split(":")[0] for s in summaries(feed(client, other_manager))} == {
        "Shared",
        "Secret",
    }


def test_cancelled_train_events_are_marked_cancelled(client, manager):
    train = make_train(manager)
    services.train_transition(train=train, name="cancel", by=manager, reason="x")
    statuses = {str(e["STATUS"]) for e in feed(client, manager).walk("VEVENT")}
    assert statuses == {"CANCELLED"}


def test_unknown_token_and_regenerated_token_are_404(client, manager):
    _, old = api_services.feed_create(user=manager)
    assert client.get("/calendar/feed/nope.ics").status_code == 404
    api_services.feed_create(user=manager)
    assert client.get(f"/calendar/feed/{old}.ics").status_code == 404
    assert feed(client, manager) is not None


def test_malformed_tokens_are_404(client):
    for token in ["%00", "a%2Fb", "x" * 200, "%ED%A0%80"]:
        assert client.get(f"/calendar/feed/{token}.ics").status_code == 404


def test_the_last_day_of_the_calendar_does_not_break_the_feed(client, manager):
    from datetime import date

    train = make_train(
        manager, start_date=date(9999, 1, 1), end_date=date(9999, 12, 31), phase_ends={}
    )
    services.milestone_add(train=train, by=manager, name="End of time", due_date=date.max)
    (event,) = feed(client, manager).walk("VEVENT")
    assert event.decoded("DTSTART") == date.max and "DTEND" not in event


def test_feed_of_an_inactive_user_is_404(client, manager):
    _, token = api_services.feed_create(user=manager)
    manager.is_active = False
    manager.save()
    assert client.get(f"/calendar/feed/{token}.ics").status_code == 404


def test_feed_runs_a_constant_number_of_queries(client, manager, django_assert_max_num_queries):
    _, token = api_services.feed_create(user=manager)
    for i in range(5):
        train = make_train(manager, name=f"T{i}")
        services.milestone_add(train=train, by=manager, name="M", due_date=train.start_date)
    # feed + user, the user's groups, trains, phases, milestones
    with django_assert_max_num_queries(5):
        assert client.get(f"/calendar/feed/{token}.ics").status_code == 200


def test_only_the_hash_of_the_token_is_stored(manager):
    feed, token = api_services.feed_create(user=manager)
    feed.refresh_from_db()
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {str(v) for v in CalendarFeed.objects.values_list(flat=False).get()}
    assert api_services.feed_authenticate(token) == feed
    assert api_services.feed_authenticate(feed.token_hash) is None  # the hash opens nothing
