"""Delivering the outbox: who hears of which event, preferences, digests, retries, failures."""

import smtplib
from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from releasemgr.exceptions import NotAllowed
from tests.factories import ReleaseFactory, drive, fresh, make_train, schedule
from trains import services
from trains.models import Digest, Notification, NotificationPreference, UndeliverableAddress
from trains.notifications import services as notifications
from trains.notifications.mail import TemporaryMailError

from .conftest import START

pytestmark = pytest.mark.django_db


class FailingBackend:
    """A mail backend that fails the way an SMTP server would, and counts the tries."""

    error: Exception | None = None
    tries = 0

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        FailingBackend.tries += 1
        raise FailingBackend.error


@pytest.fixture
def failing(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    FailingBackend.tries = 0
    return FailingBackend


def refused(code, address="owner@example.com"):
    return smtplib.SMTPRecipientsRefused({address: (code, b"mailbox unavailable")})


def deliver_all():
    notifications.notifications_send()


def pending_ids():
    return list(
        Notification.objects.filter(status="pending").order_by("pk").values_list("pk", flat=True)
    )


def heard(event):
    return set(event.notifications.values_list("recipient__username", flat=True))


def outbox_to(username):
    return [m for m in django_mail.outbox if m.to == [f"{username}@example.com"]]


# Who hears of what ---------------------------------------------------------------------


def test_approval_requested_goes_to_the_gates_approvers_with_a_link_to_the_inbox(clock, crew):
    train, *_ = drive(make_train(crew["manager"], **schedule(START)), "executive_approval", **crew)
    event = train.events.get(transition="request_executive_approval")
    assert heard(event) == {"executive"}
    assert event.notifications.get().kind == "approval_requested"
    deliver_all()
    (message,) = [m for m in outbox_to("executive") if "Approval requested" in m.subject]
    assert message.subject == f"[releasemgr] Approval requested: {train}"
    assert "https://releases.test/approvals/" in message.body


def test_rejection_goes_to_product_owners_and_the_manager_with_the_reason(clock, crew):
    train, _, exe, _ = drive(
        make_train(crew["manager"], **schedule(START)), "executive_approval", **crew
    )
    services.decision_record(
        requirement=exe, by=crew["executive"], approve=False, comment="Fix the tax rules."
    )
    event = train.events.get(transition="reject_executive")
    assert heard(event) == {"owner", "manager"}
    assert {n.kind for n in event.notifications.all()} == {"rejected"}
    deliver_all()
    (message,) = [m for m in outbox_to("owner") if "Rejected" in m.subject]
    assert "Reason: Fix the tax rules." in message.body
    assert f"https://releases.test/trains/{train.pk}/" in message.body


def test_turnover_submitted_goes_to_release_engineers(clock, crew):
    train, _, _, releases = drive(
        make_train(crew["manager"], **schedule(START)), "verification", **crew
    )
    services.turnover_submit(release=fresh(releases[0]), by=crew["owner"], description="Build 7")
    event = train.events.get(kind="turnover")
    assert heard(event) == {"engineer"}
    assert event.notifications.get().kind == "turnover_submitted"


def test_a_turnover_verdict_is_mailed_to_its_owner_at_once(clock, crew):
    train, _, _, releases = drive(
        make_train(crew["manager"], **schedule(START)), "verification", **crew
    )
    turnover = services.turnover_submit(
        release=fresh(releases[0]), by=crew["owner"], description="Build 7"
    )
    services.turnover_decide(
        turnover=turnover, by=crew["engineer"], accept=False, reason="Runbook missing"
    )
    event = train.events.filter(kind="turnover").latest("id")
    (row,) = event.notifications.all()
    assert (row.recipient, row.kind) == (crew["owner"], "turnover_decided")
    deliver_all()
    assert fresh(row).status == "sent"  # at once, not in the next day's digest
    (message,) = [m for m in outbox_to("owner") if "Turnover rejected" in m.subject]
    assert f"Turnover of {fresh(releases[0])} rejected: Runbook missing" in message.body


def test_a_turnover_verdict_follows_the_owners_preference(clock, crew):
    notifications.preferences_set(user=crew["owner"], choices={"turnover_decided": "digest"})
    train, _, _, releases = drive(
        make_train(crew["manager"], **schedule(START)), "verification", **crew
    )
    turnover = services.turnover_submit(
        release=fresh(releases[0]), by=crew["owner"], description="Build 7"
    )
    services.turnover_decide(turnover=turnover, by=crew["engineer"], accept=True)
    deliver_all()
    row = Notification.objects.get(recipient=crew["owner"], kind="turnover_decided")
    assert row.status == "digest"


def test_deployment_outcomes_are_mailed_at_once_by_default(clock, crew):
    train, *_ = drive(make_train(crew["manager"], **schedule(START)), "deployment", **crew)
    services.train_deploy(train=fresh(train), by=crew["engineer"], succeeded=False, log="boom")
    services.train_deploy(train=fresh(train), by=crew["engineer"], succeeded=True)
    deliver_all()
    rows = Notification.objects.filter(train=train, event__transition="deploy")
    assert {r.kind for r in rows} == {"deployment_failed", "train_closed"}
    assert {r.status for r in rows} == {"sent"}


def test_failed_deployment_and_closing_go_to_everyone_who_can_see_the_train(
    clock, stakeholder, crew
):
    train, *_ = drive(make_train(crew["manager"], **schedule(START)), "deployment", **crew)
    services.train_grant(train=train, by=crew["manager"], user=stakeholder)
    services.train_deploy(train=fresh(train), by=crew["engineer"], succeeded=False, log="boom")
    services.train_deploy(train=fresh(train), by=crew["engineer"], succeeded=True)
    failed = train.events.get(transition="deploy", to_state="deployment")
    closed = train.events.get(transition="deploy", to_state="closed")
    # QA and engineers see every train through their group; the executive approves it;
    # the engineer who deployed is not told what they just did
    everyone = {"manager", "owner", "qa", "executive", "stakeholder"}
    assert heard(failed) == everyone
    assert heard(closed) == everyone
    assert {n.kind for n in failed.notifications.all()} == {"deployment_failed"}
    assert {n.kind for n in closed.notifications.all()} == {"train_closed"}


# Preferences ----------------------------------------------------------------------------


def test_email_now_sends_one_message_with_text_html_and_a_link(clock, manager):
    train = make_train(manager, **schedule(START))
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    deliver_all()
    (message,) = django_mail.outbox
    assert message.to == ["manager@example.com"]
    assert message.subject == f"[releasemgr] Due in 7 days: End of scoping — {train}"
    assert f"https://releases.test/trains/{train.pk}/" in message.body
    assert "https://releases.test/notifications/" in message.body
    (html, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="https://releases.test/trains/{train.pk}/"' in html
    row = Notification.objects.get()
    assert (row.status, row.attempts, row.address) == ("sent", 1, "manager@example.com")
    assert row.subject == message.subject and row.body == message.body and row.sent_at


def test_off_sends_nothing_and_says_why(clock, manager):
    NotificationPreference.objects.create(user=manager, kind="deadline", delivery="off")
    make_train(manager, **schedule(START))
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    deliver_all()
    assert django_mail.outbox == []
    row = Notification.objects.get()
    assert (row.status, row.last_error) == ("skipped", "Turned off in the recipient's preferences.")


def test_digest_waits_for_the_daily_digest_and_sends_it_once(clock, manager):
    notifications.preferences_set(user=manager, choices={"deadline": "digest", "overdue": "digest"})
    first = make_train(manager, **schedule(START))
    second = make_train(manager, **schedule(START - timedelta(days=8)))  # scoping overdue
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    deliver_all()
    assert django_mail.outbox == []
    assert set(Notification.objects.values_list("status", flat=True)) == {"digest"}

    (digest_id,) = notifications.digests_build()
    assert notifications.digests_build() == []  # one digest a day
    assert notifications.digests_send() == [digest_id]
    assert notifications.digests_send() == []  # sent once
    notifications.digest_deliver(digest_id=digest_id)  # asked for once more
    (message,) = django_mail.outbox
    assert message.subject == "[releasemgr] Your daily digest: 2 notifications"
    for train in (first, second):
        assert f"https://releases.test/trains/{train.pk}/" in message.body
        assert train.name in message.alternatives[0][0]
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert Digest.objects.get().status == "sent"


def test_other_changes_default_to_the_digest(clock, manager, owner):
    train = make_train(manager, **schedule(START))
    services.release_add(
        train=train,
        release=ReleaseFactory(application__product_owner=owner),
        by=manager,
    )
    deliver_all()
    row = Notification.objects.get(recipient=owner)
    assert (row.kind, row.status) == ("update", "digest")


def test_preferences_are_saved_all_or_nothing(manager):
    with pytest.raises(ValidationError):
        notifications.preferences_set(
            user=manager, choices={"deadline": "off", "overdue": "by pigeon"}
        )
    assert not NotificationPreference.objects.exists()
    notifications.preferences_set(user=manager, choices={"deadline": "off"})
    notifications.preferences_set(user=manager, choices={"deadline": "digest"})
    assert list(NotificationPreference.objects.values_list("kind", "delivery")) == [
        ("deadline", "digest")
    ]


def test_a_person_without_an_address_is_skipped(clock, manager):
    manager.email = ""
    manager.save()
    make_train(manager, **schedule(START))
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    deliver_all()
    row = Notification.objects.get()
    assert (row.status, row.last_error) == ("skipped", "The recipient has no e-mail address.")


# Failures, retries, exactly once ------------------------------------------------------------


def test_a_passing_failure_is_retried_and_given_up_on_the_last_attempt(clock, manager, failing):
    failing.error = refused(451, "manager@example.com")
    make_train(manager, **schedule(START))
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    (pk,) = pending_ids()
    with pytest.raises(TemporaryMailError, match="451"):
        notifications.notification_deliver(notification_id=pk, final_attempt=False)
    row = Notification.objects.get()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "451" in row.last_error
    notifications.notification_deliver(notification_id=pk, final_attempt=True)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 2)
    assert row.last_error.endswith("(gave up after 2 attempts)")
    assert not UndeliverableAddress.objects.exists()


def test_a_passing_failure_waits_with_backoff_and_is_given_up_after_max_retries(
    clock, manager, failing, settings
):
    settings.NOTIFICATION_MAX_RETRIES = 3
    failing.error = ConnectionRefusedError(111, "Connection refused")
    make_train(manager, **schedule(START))
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    (pk,) = notifications.notifications_send()
    row = Notification.objects.get()
    assert (row.status, row.attempts) == ("pending", 1)
    # waits 30 s (with jitter: 15 to 30), so a dispatch right away leaves it alone
    assert timedelta(seconds=15) <= row.retry_at - timezone.now() <= timedelta(seconds=30)
    assert notifications.notifications_send() == []
    for attempt, backoff in ((2, 60), (3, 120), (4, 240)):
        clock.shift(timedelta(seconds=backoff))
        assert notifications.notifications_send() == [pk]
        assert Notification.objects.get().attempts == attempt
    row = Notification.objects.get()
    assert (row.status, row.attempts) == ("failed", 4)
    assert failing.tries == 4
    assert "Connection refused" in row.last_error
    assert row.last_error.endswith("(gave up after 4 attempts)")


def test_the_backoff_doubles_up_to_its_maximum(settings):
    settings.NOTIFICATION_RETRY_BACKOFF, settings.NOTIFICATION_RETRY_BACKOFF_MAX = 30, 600
    for attempts, full in ((1, 30), (2, 60), (3, 120), (5, 480), (6, 600), (12, 600)):
        delay = notifications.retry_delay(attempts).total_seconds()
        assert full / 2 <= delay <= full


def test_a_row_that_breaks_delivery_does_not_block_the_others(clock, manager, owner, settings):
    make_train(manager, **schedule(START))
    make_train(manager, **schedule(START - timedelta(days=5)))  # 2 days from its end
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    first, second = pending_ids()
    # a broken row (a bug, not the mail server): a kind of notification nobody knows
    Notification.objects.filter(pk=first).update(kind="no-such-kind")
    assert notifications.notifications_send() == [first, second]
    rows = {n.pk: n for n in Notification.objects.all()}
    assert (rows[first].status, rows[first].attempts) == ("pending", 1)
    assert rows[first].retry_at > timezone.now()
    assert rows[second].status == "sent"


def test_a_refused_address_is_recorded_and_not_tried_again(clock, manager, failing):
    failing.error = refused(550, "manager@example.com")
    make_train(manager, **schedule(START))
    make_train(manager, **schedule(START - timedelta(days=5)))  # 2 days from its end
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    first, second = pending_ids()
    notifications.notification_deliver(notification_id=first, final_attempt=False)
    notifications.notification_deliver(notification_id=second, final_attempt=False)
    assert failing.tries == 1
    rows = {n.pk: n for n in Notification.objects.all()}
    assert rows[first].status == rows[second].status == "failed"
    assert rows[first].last_error.startswith("Address refused: 550")
    assert "marked undeliverable" in rows[second].last_error
    assert UndeliverableAddress.objects.get().email == "manager@example.com"


def test_a_person_clears_their_own_refused_address_only(manager, owner):
    UndeliverableAddress.objects.create(email="manager@example.com", reason="550")
    with pytest.raises(NotAllowed):
        notifications.undeliverable_clear(by=owner, address="manager@example.com")
    notifications.undeliverable_clear(by=manager, address="Manager@Example.com")
    assert not UndeliverableAddress.objects.exists()


def test_delivering_the_same_row_twice_sends_once(clock, manager):
    make_train(manager, **schedule(START))
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    (pk,) = pending_ids()
    assert notifications.notification_deliver(notification_id=pk) == "sent"
    assert notifications.notification_deliver(notification_id=pk) == "sent"
    assert len(django_mail.outbox) == 1


def test_every_mail_has_a_message_id_that_is_the_same_each_time_it_is_sent(clock, manager):
    make_train(manager, **schedule(START))
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    (pk,) = pending_ids()
    notifications.notifications_send()
    row = Notification.objects.get()
    (message,) = django_mail.outbox
    assert message.extra_headers["Message-ID"] == f"<releasemgr.notification.{pk}@releases.test>"
    assert notifications.message_id(row) == message.extra_headers["Message-ID"]
    assert message.message()["Message-ID"] == message.extra_headers["Message-ID"]


def test_every_member_of_an_approving_group_hears_of_the_request(clock, crew, executive2):
    train, *_ = drive(make_train(crew["manager"], **schedule(START)), "executive_approval", **crew)
    event = train.events.get(transition="request_executive_approval")
    assert heard(event) == {"executive", "executive2"}
