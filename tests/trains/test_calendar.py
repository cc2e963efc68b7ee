"""The calendar: a legend, the trains' windows as bars, open trains by default, entries
that keep their marks when cut, and the trains list's type and manager filters."""

from datetime import date, timedelta

import pytest
import time_machine

from tests.factories import drive, make_train, schedule
from trains import services
from trains.filters import Show
from trains.selectors.calendar import WindowBar, _bars

pytestmark = pytest.mark.django_db

# A Wednesday: November 2027 starts on a Monday and has five weeks, Monday first.
TODAY = date(2027, 11, 10)
MONTH = "2027-11"


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=False):
        yield


def _get(client, user, url=f"/calendar/?month={MONTH}"):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response


def _train(manager, name, start=date(2027, 11, 3), **overrides):
    return make_train(manager, name=name, **schedule(start), **overrides)


def _entries(response) -> list[tuple[str, str]]:
    return [
        (e.train.name, e.label)
        for week in response.context["month"].weeks
        for _, entries in week.days
        for e in entries
    ]


def _windows(response) -> set[str]:
    return {b.train.name for week in response.context["month"].weeks for b in week.windows}


def test_the_legend_names_every_mark(client, manager):
    html = _get(client, manager).content.decode()
    legend = html.split('id="calendar-legend"')[1].split("</ul>")[0]
    for words in ("Train window", "Phase ends", "Milestone", "Done", "Overdue", "Today"):
        assert words in legend
    assert 'aria-describedby="calendar-legend"' in html


def test_train_windows_are_bars_over_the_days_they_cover(client, manager):
    _train(manager, "Wide")  # 3 Nov (a Wednesday) to 2 Dec
    response = _get(client, manager)
    bars = [
        (b.column, b.span, b.starts, b.ends)
        for week in response.context["month"].weeks
        for b in week.windows
    ]
    # Wed 3 Nov to Sun 7; three whole weeks; Mon 29 Nov to Thu 2 Dec
    assert bars == [
        (3, 5, True, False),
        (1, 7, False, False),
        (1, 7, False, False),
        (1, 7, False, False),
        (1, 4, False, True),
    ]
    html = response.content.decode()
    assert 'class="calendar-bar from-3 span-5 starts" role="gridcell"' in html
    assert 'title="Wide: 2027-11-03 → 2027-12-02"' in html


def test_a_window_of_one_day_is_one_cell(manager):
    train = _train(manager, "Short")
    week = [date(2027, 11, 1) + timedelta(days=i) for i in range(7)]
    train.start_date = train.end_date = date(2027, 11, 7)
    assert _bars([train], week) == [WindowBar(train, 7, 1, True, True)]
    train.start_date = train.end_date = date(2027, 11, 8)
    assert _bars([train], week) == []


def test_open_trains_by_default_closed_and_cancelled_one_click_away(client, people):
    manager = people["manager"]
    _train(manager, "Open one")
    cancelled = _train(manager, "Cancelled one")
    services.train_transition(train=cancelled, name="cancel", by=manager, reason="not needed")
    response = _get(client, manager)
    assert response.context["show"] == Show.OPEN
    assert _windows(response) == {"Open one"}
    assert {name for name, _ in _entries(response)} == {"Open one"}
    html = response.content.decode()
    assert f'href="?month={MONTH}&amp;show=all">Include closed and cancelled trains</a>' in html
    everything = _get(client, manager, f"/calendar/?month={MONTH}&show=all")
    assert _windows(everything) == {"Open one", "Cancelled one"}
    assert "Only open trains</a>" in everything.content.decode()


def test_the_closed_train_of_a_finished_journey_is_on_the_calendar_one_click_away(client, people):
    train, *_ = drive(make_train(people["manager"], name="Done"), "closed", **people)
    month = f"{train.start_date:%Y-%m}"
    assert "Done" not in _windows(_get(client, people["manager"], f"/calendar/?month={month}"))
    shown = _get(client, people["manager"], f"/calendar/?month={month}&show=all")
    assert "Done" in _windows(shown)


def test_entries_keep_their_marks_and_say_them_in_words(client, manager):
    train = _train(manager, "Marked", start=date(2027, 11, 1))
    services.milestone_add(train=train, by=manager, name="Late", due_date=date(2027, 11, 2))
    reached = services.milestone_add(
        train=train, by=manager, name="Met", due_date=date(2027, 11, 4)
    )
    services.milestone_reach(milestone=reached, by=manager)
    html = _get(client, manager).content.decode()
    late = html.split('title="Marked: Late (overdue)"')[1].split("</a>")[0]
    # the mark comes first, so that cutting the text keeps it; and it is said in words
    assert late.startswith('><span class="entry-mark overdue" aria-hidden="true">⚠</span>')
    assert '<span class="visually-hidden">Overdue: </span>' in late
    met = html.split('title="Marked: Met (done)"')[1].split("</a>")[0]
    assert met.startswith('><span class="entry-mark done" aria-hidden="true">✓</span>')
    assert '<span class="visually-hidden">Done: </span>' in met


def test_filter_by_type_and_manager_like_the_trains_list(client, manager, other_manager):
    _train(manager, "Mine minor")
    _train(manager, "Mine patch", train_type="patch")
    theirs = _train(other_manager, "Theirs")
    services.train_grant(train=theirs, by=other_manager, user=manager)
    assert _windows(_get(client, manager)) == {"Mine minor", "Mine patch", "Theirs"}
    patch = _get(client, manager, f"/calendar/?month={MONTH}&train_type=patch")
    assert _windows(patch) == {"Mine patch"}
    assert {name for name, _ in _entries(patch)} == {"Mine patch"}
    by_them = _get(client, manager, f"/calendar/?month={MONTH}&manager={other_manager.pk}")
    assert _windows(by_them) == {"Theirs"}
    html = by_them.content.decode()
    # the same fields as the trains list; the month links keep the filters
    assert '<select name="train_type" class="form-select" id="id_train_type">' in html
    assert f'<option value="{other_manager.pk}" selected>' in html
    assert f'href="?manager={other_manager.pk}&amp;month=2027-12" rel="next"' in html


def test_a_bad_filter_shows_nothing_and_says_why(client, manager):
    _train(manager, "Mine")
    response = _get(client, manager, f"/calendar/?month={MONTH}&train_type=huge")
    assert _windows(response) == set()
    assert "Select a valid choice" in response.content.decode()


def test_a_month_of_more_trains_than_the_cap_shows_those_that_start_first_and_says_so(
    client, manager, monkeypatch
):
    import trains.selectors.calendar as calendar

    monkeypatch.setattr(calendar, "CALENDAR_CAP", 2)
    _train(manager, "Second", start=date(2027, 11, 2))
    _train(manager, "First", start=date(2027, 11, 1))
    html = _get(client, manager).content.decode()
    assert 'id="calendar-more"' not in html  # two trains: the month holds them all

    _train(manager, "Third", start=date(2027, 11, 3))
    response = _get(client, manager)
    assert _windows(response) == {"First", "Second"}
    assert {name for name, _ in _entries(response)} <= {"First", "Second"}
    assert response.context["month"].window_count == 2
    html = response.content.decode()
    assert 'id="calendar-more"' in html
    assert "More than 2 trains fall in these weeks" in html
    assert "shows the 2 that start first" in html
