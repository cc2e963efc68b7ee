"""One status: the dashboard, the trains list, the inbox, the API and the mails show the
same numbers for the same train, because each reads `train_status` (and the pages that
list many trains read it in their own query)."""

import dataclasses
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from api import services as api_services
from tests.factories import complete_all, drive, fresh, make_train, schedule, scope
from trains import services
from trains.choices import Health
from trains.models import Notification, ReleaseTrain
from trains.notifications import services as notification_services
from trains.status import TrainGlance, train_glance, train_status

pytestmark = pytest.mark.django_db


def _numbers(status) -> dict:
    return {
        "state": str(status.state),
        "phases": [(str(p.phase), p.met, p.total) for p in status.phases],
        "so_far": (status.criteria_met, status.criteria_total),
        "releases": (status.releases_complete, status.releases_total),
        "deadline": status.deadline,
        "overdue": status.overdue,
        "waiting": status.waiting_text,
        "gates": [(str(g.gate), g.round, g.approvals, g.needed) for g in status.gates],
    }


def _from_api(data: dict) -> dict:
    return {
        "state": data["state"],
        "phases": [(c["phase"], c["met"], c["total"]) for c in data["criteria"]],
        "so_far": (data["criteria_met"], data["criteria_total"]),
        "releases": (data["releases_complete"], data["releases_total"]),
        "deadline": data["deadline"] and timezone.datetime.fromisoformat(data["deadline"]).date(),
        "overdue": data["overdue"],
        "waiting": "; ".join(
            f"{w['what']} ({', '.join(w['who'])})" if w["who"] else w["what"]
            for w in data["waiting"]
        ),
        "gates": [(g["gate"], g["round"], g["approvals"], g["needed"]) for g in data["gates"]],
    }


@pytest.fixture
def at_the_executive_gate(people, executive2):
    """A train waiting at the executive gate for two approvals, one of them given, with
    a manual criterion added to construction and ticked: every phase so far met."""
    manager, owner = people["manager"], people["owner"]
    train = make_train(manager)
    docs = services.criterion_add(
        train=train, by=manager, phase="construction", description="Docs updated"
    )
    dev, exe, releases = scope(train, manager=manager, owner=owner, exec_needed=2)
    services.train_transition(train=fresh(train), name="start_construction", by=manager)
    services.criterion_set_met(criterion=fresh(docs), by=manager, met=True)
    complete_all(releases, owner)  # the last one requests development approval
    services.decision_record(requirement=dev, by=manager, approve=True)
    qa_check = train.criteria.get(phase="verification", rule="manual")
    services.criterion_set_met(criterion=qa_check, by=people["qa"], met=True)
    services.train_transition(train=fresh(train), name="request_executive_approval", by=manager)
    services.decision_record(requirement=exe, by=people["executive"], approve=True)
    return fresh(train)


def test_every_page_the_api_and_the_mail_show_the_same_numbers(
    client, people, executive2, at_the_executive_gate, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    train = at_the_executive_gate
    executive = executive2  # the one who still has to decide
    expected = _numbers(train_status(train, executive))
    assert expected["state"] == "executive_approval"
    # scoping and construction met (automatic and ticked), verification's QA sign-off
    # ticked: what the inbox wrongly counted as "0 of 6"
    assert expected["phases"][:3] == [
        ("scoping", 3, 3),
        ("construction", 2, 2),
        ("verification", 1, 1),
    ]
    assert expected["so_far"] == (6, 6)
    assert expected["gates"][1] == ("executive", 1, 1, 2)

    client.force_login(executive)
    dashboard = client.get(f"/trains/{train.pk}/").context["d"].status
    listed = {row.train.pk: row.status for row in client.get("/trains/").context["rows"]}
    (item,) = client.get("/approvals/").context["items"]
    _, token = api_services.token_create(user=executive, name="t")
    api = client.get(f"/api/v1/trains/{train.pk}/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert _numbers(dashboard) == expected
    assert _numbers(listed[train.pk]) == expected
    assert _numbers(item.status) == expected
    assert _from_api(api.json()["status"]) == expected

    # the approval-request mail, as the second executive received it
    request = Notification.objects.get(
        train=train, recipient=executive, event__transition="request_executive_approval"
    )
    notification_services.notification_deliver(notification_id=request.pk)
    (message,) = [m for m in mail.outbox if m.to == [executive.email]]
    assert (
        "Required exit criteria met so far: scoping 3 of 3, construction 2 of 2, "
        "verification 1 of 1" in message.body
    )
    assert f"development-complete: {expected['releases'][0]} of {expected['releases'][1]}" in (
        message.body
    )


def test_the_inbox_counts_computed_criteria_and_not_future_phases(
    client, executive2, at_the_executive_gate
):
    client.force_login(executive2)  # the other executive has approved already
    html = client.get("/approvals/").content.decode()
    assert "6 of 6" in html  # not "0 of 6": automatic criteria count; deployment's not yet


def test_a_list_of_many_trains_reads_each_status_in_its_own_query(
    client, people, django_assert_max_num_queries
):
    for _ in range(3):
        drive(make_train(people["manager"]), "verification", **people)
    client.force_login(people["manager"])
    client.get("/trains/")  # warm: the session
    # session, user with groups, navigation's inbox count, paginator count, the page
    # with every train's facts and rights, the manager filter's choices
    with django_assert_max_num_queries(6):
        rows = client.get("/trains/").context["rows"]
    assert len(rows) == 3
    for row in rows:
        assert _numbers(row.status) == _numbers(train_status(fresh(row.train)))


def test_status_says_what_it_waits_on_and_on_whom(people):
    train = make_train(people["manager"])
    status = train_status(train, people["manager"])
    assert status.next_step.name == "start_construction"
    assert [w.who for w in status.waiting] == [("manager",), ("manager",)]
    assert "no approvers for" in status.waiting_text
    assert [o.name for o in status.options] == ["start_construction", "cancel"]
    assert not status.options[0].enabled and status.options[1].enabled

    train, *_ = drive(train, "construction", **people)
    status = train_status(train)
    assert status.waiting_text == (
        "All application releases development-complete: 2 of 2 application releases are "
        "not development-complete (owner)"
    )
    assert (
        status.since is not None
        and status.deadline == train.phases.get(kind="construction").planned_end
    )


def test_status_keeps_the_last_rejection_and_cancellation_with_their_reasons(people):
    train, dev, *_ = drive(make_train(people["manager"]), "development_approval", **people)
    services.decision_record(
        requirement=dev, by=people["manager"], approve=False, comment="Tests are red"
    )
    status = train_status(fresh(train))
    assert status.state == "construction"
    assert status.refusal_label == "Rejected at development approval"
    assert status.last_refusal.reason == "Tests are red"
    assert status.last_refusal.by == "manager"

    services.train_transition(
        train=fresh(train), name="cancel", by=people["manager"], reason="Scope moved"
    )
    status = train_status(fresh(train))
    assert status.refusal_label == "Cancelled" and status.last_refusal.reason == "Scope moved"
    assert not status.is_open and status.next_step is None and status.waiting == ()


def test_overdue_is_the_current_phase_past_its_planned_end(people, time_machine):
    train = make_train(people["manager"])
    scoping_end = train.phases.get(kind="scoping").planned_end
    time_machine.move_to(scoping_end + timedelta(days=1))
    status = train_status(fresh(train))
    assert status.deadline == scoping_end and status.overdue and status.days_left == -1


def test_a_rejection_is_current_until_the_train_moves_on_and_recalled_at_its_gate(people):
    train, _, exe, _ = drive(make_train(people["manager"]), "executive_approval", **people)
    services.decision_record(
        requirement=exe, by=people["executive"], approve=False, comment="Too risky"
    )
    status = train_status(fresh(train))
    assert status.refusal_current and not status.refusal_recalled
    assert status.since == status.last_refusal.at  # back in verification since then
    assert status.words == "In verification"
    assert status.next_text == "Next: Request executive approval"
    assert status.blockers == ()  # QA's sign-off still holds: only the step is left
    services.train_transition(
        train=fresh(train), name="request_executive_approval", by=people["manager"]
    )
    status = train_status(fresh(train))
    assert not status.refusal_current and status.refusal_recalled  # the gate's approvers
    assert status.next_text == "Next: Deployment, once approved"
    assert status.waiting_on == ("1 of group Executives",)  # the role's label


def test_scoping_stands_since_the_train_was_submitted_and_says_how_far_its_deadline_is(
    people, time_machine
):
    train = make_train(people["manager"])
    status = train_status(train)
    assert status.since == train.phases.get(kind="scoping").actual_start
    assert status.deadline_text == "in 7 days"
    time_machine.move_to(status.deadline + timedelta(days=1))
    assert train_status(fresh(train)).deadline_text == "1 day overdue"


def test_the_calendar_and_the_portfolio_glance_at_the_same_status(client, people, settings):
    """A glance (`train_glance`, from fewer facts) says what the whole status says of
    the state, the deadline and the health: green, red, amber and overridden."""
    settings.HEALTH_AMBER_DAYS = 3
    manager = people["manager"]
    today = timezone.localdate()
    trains = [
        make_train(manager, **schedule(today, step=10)),  # green
        make_train(manager, **schedule(today - timedelta(days=20), step=10)),  # red
        make_train(manager, **schedule(today - timedelta(days=8), step=10)),  # amber
        make_train(manager, **schedule(today, step=10)),  # overridden
    ]
    services.health_override_set(
        train=trains[3],
        by=manager,
        health=Health.AMBER,
        reason="Vendor",
        until=today + timedelta(days=3),
    )
    drive(make_train(manager, **schedule(today - timedelta(days=3))), "verification", **people)
    glance_fields = [f.name for f in dataclasses.fields(TrainGlance)]

    def glance(status) -> dict:
        return {name: getattr(status, name) for name in glance_fields} | {
            "health": status.health,
            "health_text": status.health_text,
        }

    expected = {t.pk: glance(train_status(fresh(t))) for t in ReleaseTrain.objects.all()}
    assert {e["health"] for e in expected.values()} == {Health.GREEN, Health.RED, Health.AMBER}
    for train in ReleaseTrain.objects.all():
        assert glance(train_glance(fresh(train))) == expected[train.pk]

    client.force_login(manager)
    month = client.get("/calendar/").context["month"]
    shown = {b.train.pk: glance(b.status) for week in month.weeks for b in week.windows}
    portfolio = client.get("/portfolio/").context["chart"]
    rows = {r.train.pk: glance(r.status) for g in portfolio.groups for r in g.rows}
    assert shown == rows == expected
