"""Deciding from the e-mail: the approval-request mail's signed Approve and Reject links,
the confirmation page they open, and every way a link is refused without changing a thing."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import ApprovalDecision
from tests.factories import drive, fresh, make_train
from trains import services
from trains.choices import NotificationKind
from trains.models import DecisionLinkUse, Notification
from trains.notifications import mail
from trains.services.links import decision_links_for

pytestmark = pytest.mark.django_db


def _at_executive_gate(people, executive2):
    train, _dev, exe, _rels = drive(make_train(people["manager"]), "executive_approval", **people)
    return train, exe


def links_in_mail(train, user) -> dict[str, str]:
    """The Approve and Reject paths of the approval-request mail `user` was sent."""
    notification = Notification.objects.get(
        train=train,
        recipient=user,
        kind=NotificationKind.APPROVAL_REQUESTED,
        event__transition="request_executive_approval",
    )
    text = mail.render_notification(notification, user.email).text
    found = dict(
        re.findall(r"^(Approve|Reject): https?://[^/]+(/approvals/link/\S+/)$", text, re.M)
    )
    return found


@pytest.fixture
def gate(people, executive2):
    train, exe = _at_executive_gate(people, executive2)
    return train, exe, links_in_mail(train, people["executive"])


def test_the_mail_carries_approve_and_reject_links_for_its_approver(gate, people):
    train, _exe, links = gate
    assert set(links) == {"Approve", "Reject"}
    notification = Notification.objects.get(
        train=train,
        recipient=people["executive"],
        kind=NotificationKind.APPROVAL_REQUESTED,
        event__transition="request_executive_approval",
    )
    html = mail.render_notification(notification, "x@example.com").html
    assert html.count("/approvals/link/") == 2 and ">Approve</a>" in html


def test_opening_a_link_shows_what_is_decided_and_changes_nothing(client, gate, people):
    train, _exe, links = gate
    page = client.get(links["Approve"])
    assert page.status_code == 200
    text = page.content.decode()
    assert f"Approve {train.name}?" in text
    assert "Exit criteria" in text and "QA sign-off" in text
    for release in train.application_releases.all():
        assert str(release) in text
    assert not ApprovalDecision.objects.filter(
        requirement__train=train, requirement__gate="executive"
    ).exists()
    assert not DecisionLinkUse.objects.exists()
    assert fresh(train).state == "executive_approval"


def test_approving_decides_once(client, gate, people):
    train, _exe, links = gate
    done = client.post(links["Approve"], {"comment": ""})
    assert done.status_code == 200
    assert b"Your decision as" in done.content
    decision = ApprovalDecision.objects.get(requirement__train=train, requirement__gate="executive")
    assert decision.user == people["executive"] and decision.approve
    assert fresh(train).state == "deployment"
    again = client.post(links["Approve"], {"comment": ""})
    assert again.status_code == 410 and b"already used" in again.content
    other_half = client.get(links["Reject"])  # the mail's two links are one link
    assert other_half.status_code == 410
    assert (
        ApprovalDecision.objects.filter(
            requirement__train=train, requirement__gate="executive"
        ).count()
        == 1
    )


def test_rejecting_needs_a_reason_and_keeps_the_link_until_then(client, gate):
    train, _exe, links = gate
    refused = client.post(links["Reject"], {"comment": "  "})
    assert refused.status_code == 400 and b"A rejection needs a reason" in refused.content
    assert not DecisionLinkUse.objects.exists()
    assert fresh(train).state == "executive_approval"
    done = client.post(links["Reject"], {"comment": "Rollback plan missing"})
    assert done.status_code == 200
    assert fresh(train).state == "verification"
    assert fresh(train).events.filter(transition="reject_executive").first().message == (
        "Rollback plan missing"
    )


def test_another_signed_in_person_is_refused(client, gate, people):
    train, _exe, links = gate
    client.force_login(people["manager"])
    for method in (client.get, client.post):
        page = method(links["Approve"])
        assert page.status_code == 403
        assert b"This link is for someone else" in page.content
    assert fresh(train).state == "executive_approval" and not DecisionLinkUse.objects.exists()


def test_its_own_approver_signed_in_may_use_it(client, gate, people):
    train, _exe, links = gate
    client.force_login(people["executive"])
    assert client.post(links["Approve"]).status_code == 200
    assert fresh(train).state == "deployment"


def test_an_expired_link_is_refused(client, gate, time_machine, settings):
    train, _exe, links = gate
    time_machine.move_to(
        timezone.now() + timedelta(days=settings.APPROVAL_LINK_MAX_AGE_DAYS, hours=1)
    )
    for method in (client.get, client.post):
        page = method(links["Approve"])
        assert page.status_code == 410 and b"This link has expired" in page.content
    assert fresh(train).state == "executive_approval"


def test_the_expiry_is_a_setting(client, gate, time_machine, settings):
    train, _exe, links = gate
    settings.APPROVAL_LINK_MAX_AGE_DAYS = 30
    time_machine.move_to(timezone.now() + timedelta(days=20))
    assert client.get(links["Approve"]).status_code == 200


@pytest.mark.parametrize("cut", ["tamper", "truncate", "garbage"])
def test_a_tampered_link_is_refused(client, gate, cut):
    train, _exe, links = gate
    url = links["Approve"]
    token = url.split("/")[-2]
    bad = {
        "tamper": token[:5] + ("A" if token[5] != "A" else "B") + token[6:],
        "truncate": token[:-4],
        "garbage": "not-a-link",
    }[cut]
    for method in (client.get, client.post):
        page = method(f"/approvals/link/{bad}/")
        assert page.status_code == 400 and b"This link is not valid" in page.content
    assert fresh(train).state == "executive_approval"


def test_a_link_of_an_earlier_round_is_refused(client, gate, people, executive2):
    train, exe, _links = gate
    stale = links_in_mail(train, executive2)
    services.decision_record(requirement=exe, by=people["executive"], approve=False, comment="No")
    services.train_transition(
        train=fresh(train), name="request_executive_approval", by=people["manager"]
    )
    page = client.get(stale["Approve"])
    assert page.status_code == 409 and b"round 1" in page.content and b"round 2" in page.content
    assert client.post(stale["Approve"]).status_code == 409
    assert not ApprovalDecision.objects.filter(user=executive2).exists()


def test_a_link_after_deciding_in_the_inbox_is_refused(client, gate, people):
    train, exe, links = gate
    services.decision_record(requirement=exe, by=people["executive"], approve=True)
    # the gate passed: the link's round is over
    assert client.get(links["Approve"]).status_code == 409


def test_links_only_for_who_may_decide_and_has_not(people, executive2):
    train, exe = _at_executive_gate(people, executive2)
    event = train.events.get(transition="request_executive_approval")
    # the primary manager is barred from the executive gate; QA is not asked
    assert decision_links_for(event=event, recipient=people["manager"]) == []
    assert decision_links_for(event=event, recipient=people["qa"]) == []
    assert len(decision_links_for(event=event, recipient=executive2)) == 1
    services.decision_record(requirement=exe, by=executive2, approve=False, comment="Not yet")
    assert decision_links_for(event=fresh(event), recipient=executive2) == []  # moved on


def test_wrong_method_is_405(client, gate):
    _train, _exe, links = gate
    assert client.put(links["Approve"]).status_code == 405
