"""Words for people: states, steps and groups by their labels, people by their full names,
and criterion hints that match the criterion's state."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from approvals.models import group_approver_label
from releasemgr import roles
from releasemgr.exceptions import InvalidState
from tests.factories import drive, fresh, make_train
from trains import services, workflow
from trains.choices import TrainState
from trains.forms import RequirementForm
from trains.selectors import history_page, train_dashboard

pytestmark = pytest.mark.django_db

QA_SIGN_OFF = "QA sign-off: regression and acceptance tests passed"


def history(train) -> list[str]:
    return [row.text for row in history_page(train=train)[0]]


def named(user, first: str, last: str):
    user.first_name, user.last_name = first, last
    user.save(update_fields=["first_name", "last_name"])
    return user


def test_history_names_each_step_by_its_label_and_the_states_it_moved_between(people):
    train, dev, *_ = drive(make_train(people["manager"]), "development_approval", **people)
    services.decision_record(
        requirement=dev, by=people["manager"], approve=False, comment="Billing is not ready"
    )
    rows = history(fresh(train))
    assert "Start construction: Scoping → Construction" in rows
    assert (
        "Request development approval: Construction → Development approval — "
        "All application releases are development-complete"
    ) in rows
    assert "Reject development: Development approval → Construction — Billing is not ready" in rows
    assert not [row for row in rows if "development_approval" in row or "construction →" in row]


def test_a_failed_deployment_says_the_train_stays_in_deployment(people):
    train, *_ = drive(make_train(people["manager"]), "deployment", **people)
    services.train_deploy(train=train, by=people["engineer"], succeeded=False, log="timeout")
    assert history(fresh(train))[0] == "Record deployment: stays in Deployment — Deployment failed"


def test_history_names_people_by_their_full_names(client, manager):
    named(manager, "Maria", "Manager")
    train = make_train(manager)
    assert history_page(train=train)[0][0].who == "Maria Manager"
    client.force_login(manager)
    html = client.get(f"/trains/{train.pk}/history/").content.decode()
    assert '<strong class="name-cut" title="Maria Manager">Maria Manager</strong>' in html


def test_approver_choices_name_role_groups_by_their_labels(role_groups):
    Group.objects.create(name="change board")
    groups = dict(RequirementForm().fields["approver"].choices)["Groups"]
    labels = [label for _, label in groups]
    assert "Group: Product owners" in labels
    assert "Group: Release engineers" in labels
    assert "Group: change board" in labels  # a group that is no role keeps its name
    assert not [label for label in labels if "_" in label]


def test_a_group_requirement_reads_with_the_roles_label():
    assert group_approver_label(roles.EXECUTIVES, 2) == "2 of group Executives"
    assert group_approver_label("change board", 1) == "1 of group change board"


def test_dashboard_shows_approvers_and_who_ticked_by_label_and_full_name(client, people):
    named(people["qa"], "Quinn", "Tester")
    train, *_ = drive(make_train(people["manager"]), "verification", **people)
    client.force_login(people["manager"])
    html = client.get(f"/trains/{train.pk}/").content.decode()
    assert "Checked by Quinn Tester on" in html
    assert "1 of group Executives" in html
    assert "of group executives" not in html


def notes(train, user, description: str) -> list[str]:
    dashboard = train_dashboard(train=fresh(train), user=user)
    return next(
        c.notes for p in dashboard.phases for c in p.criteria if c.description == description
    )


def test_a_criterion_of_a_phase_to_come_says_when_it_can_be_ticked(people):
    train, *_ = drive(make_train(people["manager"]), "construction", **people)
    assert "Can be ticked during verification" in notes(train, people["qa"], QA_SIGN_OFF)


def test_a_ticked_criterion_does_not_say_when_it_can_be_ticked(people):
    train, *_ = drive(make_train(people["manager"]), "executive_approval", **people)
    shown = notes(train, people["qa"], QA_SIGN_OFF)
    assert [n for n in shown if n.startswith("Checked by qa on")]
    assert not [n for n in shown if n.startswith("Can be ticked")]


def test_a_criterion_of_a_past_phase_does_not_say_when_it_can_be_ticked(people):
    manager = people["manager"]
    train, *_ = drive(make_train(manager), "verification", **people)
    services.criterion_add(
        train=train, by=manager, phase="verification", description="Load test", required=False
    )
    services.train_transition(train=fresh(train), name="request_executive_approval", by=manager)
    exe = fresh(train).approval_requirements.get(gate="executive")
    services.decision_record(requirement=exe, by=people["executive"], approve=True)
    assert fresh(train).state == "deployment"
    assert notes(train, people["qa"], "Load test") == []


def test_a_refused_deploy_says_where_the_train_is_and_where_it_would_have_to_be(people):
    train, *_ = drive(make_train(people["manager"]), "closed", **people)
    with pytest.raises(InvalidState) as refused:
        services.train_deploy(train=train, by=people["manager"], succeeded=True)
    assert str(refused.value) == "This train is closed; only a train in deployment can be deployed."


def test_a_refused_step_reads_as_a_sentence_for_every_state():
    assert workflow.refusal("cancelled", "cancel") == (
        "This train is cancelled; only an open train can be cancelled."
    )
    assert workflow.refusal("executive_approval", "start_construction") == (
        "This train is awaiting executive approval; only a train in scoping can start construction."
    )
    for state in TrainState:
        for name, step in workflow.STEPS.items():
            text = workflow.refusal(state, name)
            assert " is in closed" not in text and " in cancelled" not in text
            assert text.endswith(f"can {step.does}.") and step.does


def test_a_stale_expected_state_over_the_api_says_where_the_train_is(people):
    train, *_ = drive(make_train(people["manager"]), "construction", **people)
    client = APIClient()
    client.force_authenticate(people["manager"])
    response = client.post(
        f"/api/v1/trains/{train.pk}/transitions/cancel/",
        {"reason": "stale", "expected_state": "scoping"},
        format="json",
    )
    assert response.status_code == 409
    # the manager moved it on themselves (elsewhere): they are told it was their move
    assert response.json()["detail"] == (
        "You have moved this train already: it is now in construction."
    )
