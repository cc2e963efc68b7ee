"""The trains list: what needs me (the default tab when anything does), open trains by
default with closed and cancelled one click away, what blocks each train, the state
chips, the CSV link with the filters, and a card per train for phones."""

import csv
import io

import pytest

from tests.factories import drive, fresh, make_train, scope
from trains import services
from trains.filters import Show
from trains.selectors import lists
from trains.selectors.lists import ListRow
from trains.status import train_status

pytestmark = pytest.mark.django_db


def _get(client, user, url="/trains/"):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response


def _names(response) -> list[str]:
    return [row.train.name for row in response.context["rows"]]


def _ready_to_start(people, name):
    """A train in scoping whose exit criteria all hold: its manager may start construction."""
    train = make_train(people["manager"], name=name)
    scope(train, manager=people["manager"], owner=people["owner"])
    return fresh(train)


# Needs my action ---------------------------------------------------------------------------


def test_a_manager_with_a_step_to_take_lands_on_needs_my_action(client, people):
    manager = people["manager"]
    _ready_to_start(people, "Ready")
    make_train(manager, name="Blocked")  # no approvers, no releases: nothing to do yet
    response = _get(client, manager)
    assert response.context["show"] == Show.NEEDS
    assert _names(response) == ["Ready"]
    html = response.content.decode()
    assert "Your move:</strong> Start construction" in html
    assert 'aria-current="page" href="?show=needs">Needs my action' in html
    assert "1 train waits for you." in html


def test_an_executive_with_a_decision_sees_it_in_needs_my_action(client, people):
    at_gate, *_ = drive(
        make_train(people["manager"], name="At the gate"), "executive_approval", **people
    )
    response = _get(client, people["executive"])
    assert response.context["show"] == Show.NEEDS
    assert _names(response) == ["At the gate"]
    assert "Decide on executive approval" in response.content.decode()
    # once decided, nothing waits for them: the open trains are shown
    services.decision_record(
        requirement=at_gate.approval_requirements.get(gate="executive"),
        by=people["executive"],
        approve=True,
    )
    assert _get(client, people["executive"]).context["show"] == Show.OPEN


def test_a_stakeholder_has_nothing_to_do_and_sees_the_open_trains(client, people, stakeholder):
    train = _ready_to_start(people, "Shared")
    services.train_grant(train=train, by=people["manager"], user=stakeholder)
    response = _get(client, stakeholder)
    assert response.context["show"] == Show.OPEN
    assert _names(response) == ["Shared"]
    assert "Your move" not in response.content.decode()
    needs = _get(client, stakeholder, "/trains/?show=needs")
    assert _names(needs) == [] and "Nothing waits for you here." in needs.content.decode()


def test_cancelling_never_makes_a_train_need_its_manager(client, manager):
    make_train(manager, name="Blocked")
    response = _get(client, manager)
    assert response.context["show"] == Show.OPEN  # "Cancel train…" is open to them
    assert response.context["needs"].rows == []


def test_an_engineer_is_needed_to_deploy_and_an_owner_is_not(client, people):
    drive(make_train(people["manager"], name="Deploy me"), "deployment", **people)
    engineer = _get(client, people["engineer"])
    assert _names(engineer) == ["Deploy me"]
    assert "Your move:</strong> Record deployment" in engineer.content.decode()
    assert _get(client, people["owner"]).context["show"] == Show.OPEN


def test_needs_my_action_is_what_train_status_says_for_every_state_and_role(people, stakeholder):
    """The query only narrows which trains are looked at: the trains it keeps are those
    whose status says this person can move them on, train by train."""
    manager = people["manager"]
    trains = {
        state: drive(make_train(manager, name=state), state, **people)[0]
        for state in (
            "scoping",
            "construction",
            "development_approval",
            "verification",
            "executive_approval",
            "deployment",
            "closed",
        )
    }
    services.train_transition(
        train=make_train(manager, name="cancelled"), name="cancel", by=manager, reason="no"
    )
    for train in trains.values():
        services.train_grant(train=fresh(train), by=manager, user=stakeholder)
    for person in [*people.values(), stakeholder]:
        found = {
            r.train.name
            for r in lists.needs_my_action(lists.train_list(user=person), user=person).rows
        }
        expected = {
            t.name
            for t in lists.train_list(user=person)
            if ListRow(t, train_status(fresh(t), person)).needs_me
        }
        assert found == expected, person.username
    assert {
        r.train.name
        for r in lists.needs_my_action(lists.train_list(user=manager), user=manager).rows
    } == {"scoping", "development_approval", "verification", "deployment"}


def test_needs_my_action_says_when_it_did_not_look_at_every_train(client, people, monkeypatch):
    for i in range(3):
        _ready_to_start(people, f"Ready {i}")
    monkeypatch.setattr(lists, "NEEDS_SCAN", 2)
    response = _get(client, people["manager"])
    html = response.content.decode()
    assert len(_names(response)) == 2
    assert 'aria-label="2+ waiting">2+</span>' in html
    assert "these are found among the 2 ending soonest" in html


# Open by default, the rest one click away ---------------------------------------------------


def _open_closed_cancelled(manager, people):
    make_train(manager, name="Open one")
    drive(make_train(manager, name="Closed one"), "closed", **people)
    cancelled = make_train(manager, name="Cancelled one")
    services.train_transition(train=cancelled, name="cancel", by=manager, reason="not needed")


def test_open_trains_by_default_closed_and_cancelled_one_click_away(client, people):
    manager = people["manager"]
    _open_closed_cancelled(manager, people)
    response = _get(client, manager)
    assert response.context["show"] == Show.OPEN
    assert _names(response) == ["Open one"]
    html = response.content.decode()
    assert 'href="?show=closed">Closed and cancelled</a>' in html
    closed = _get(client, manager, "/trains/?show=closed")
    assert sorted(_names(closed)) == ["Cancelled one", "Closed one"]
    assert "Deployed and closed." in closed.content.decode()
    assert len(_names(_get(client, manager, "/trains/?show=all"))) == 3


def test_tabs_keep_the_filters_but_not_the_states(client, people):
    manager = people["manager"]
    _open_closed_cancelled(manager, people)
    html = _get(client, manager, "/trains/?q=one&train_type=minor&state=scoping").content.decode()
    assert 'href="?q=one&amp;train_type=minor&amp;show=closed">' in html
    closed = _get(client, manager, "/trains/?q=clo&show=closed")
    assert _names(closed) == ["Closed one"]


def test_the_state_filter_is_chips_of_the_tab_states(client, people):
    manager = people["manager"]
    _open_closed_cancelled(manager, people)
    html = _get(client, manager, "/trains/?show=open&state=scoping").content.decode()
    assert "<select" not in html.split('name="state"')[0].rsplit("<fieldset", 1)[-1]
    assert (
        '<input class="btn-check" type="checkbox" name="state" value="scoping" '
        'id="state-scoping" autocomplete="off" checked>'
    ) in html
    assert 'value="construction" id="state-construction" autocomplete="off">' in html
    assert 'value="closed"' not in html  # not a state of the open tab
    closed = _get(client, manager, "/trains/?show=closed&state=cancelled")
    assert _names(closed) == ["Cancelled one"]
    assert 'value="closed" id="state-closed"' in closed.content.decode()


# What each train waits on --------------------------------------------------------------------


def test_blocked_by_says_the_next_step_and_who_can_clear_the_way(client, people):
    manager, owner = people["manager"], people["owner"]
    drive(make_train(manager, name="Building"), "construction", **people)
    html = _get(client, manager, "/trains/?show=open").content.decode()
    assert ">Blocked by</th>" in html
    assert "Next: request development approval, blocked by" in html
    assert "2 of 2 application releases are not development-complete" in html
    assert f"· {owner.username}" in html


def test_blocked_by_says_whose_turn_it_is_when_nothing_blocks(client, people, stakeholder):
    train = _ready_to_start(people, "Ready")
    services.train_grant(train=train, by=people["manager"], user=stakeholder)
    html = _get(client, stakeholder).content.decode()
    assert "Nothing: start construction is up to manager" in html


# The CSV link ---------------------------------------------------------------------------------


def _csv_names(response) -> list[str]:
    assert response.status_code == 200
    return sorted(r["name"] for r in csv.DictReader(io.StringIO(response.content.decode())))


def test_the_csv_link_carries_the_filters_and_the_tab(client, people):
    manager = people["manager"]
    _open_closed_cancelled(manager, people)
    html = _get(client, manager, "/trains/?q=one&train_type=minor&show=closed&page=1").content
    link = '/trains/export.csv?q=one&amp;train_type=minor&amp;show=closed" download>'
    assert link in html.decode()
    assert _csv_names(client.get("/trains/export.csv?q=one&train_type=minor&show=closed")) == [
        "Cancelled one",
        "Closed one",
    ]
    # the default tab is named in the link too
    assert 'href="/trains/export.csv?show=open" download>' in _get(client, manager).content.decode()
    assert _csv_names(client.get("/trains/export.csv?show=open")) == ["Open one"]
    assert len(_csv_names(client.get("/trains/export.csv"))) == 3  # no tab: all, as before


def test_the_csv_of_needs_my_action_holds_what_the_tab_shows(client, people):
    _ready_to_start(people, "Ready")
    make_train(people["manager"], name="Blocked")
    client.force_login(people["manager"])
    assert _csv_names(client.get("/trains/export.csv?show=needs")) == ["Ready"]


# Phones -----------------------------------------------------------------------------------------


def test_each_train_is_also_a_card_for_small_screens(client, manager):
    for i in range(3):
        make_train(manager, name=f"T{i}")
    html = _get(client, manager).content.decode()
    assert html.count('class="card train-card') == 3
    assert '<div class="table-responsive d-none d-md-block">' in html
    assert '<ul class="train-cards list-unstyled d-md-none"' in html
