"""Through a real SMTP server (aiosmtpd on 127.0.0.1), read back as a mail client would."""

import email
import socket
from email import policy
from html.parser import HTMLParser

import pytest
from aiosmtpd.controller import Controller

from tests.factories import make_train, schedule
from trains.models import Notification, UndeliverableAddress
from trains.notifications import services as notifications
from trains.notifications.mail import TemporaryMailError

from .conftest import START

pytestmark = pytest.mark.django_db


class Mailbox:
    """An SMTP server's handler: refuses gone@ for good, defers busy@, keeps the rest."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("gone@"):
            return "550 5.1.1 <gone@example.com>: no such user"
        if address.startswith("busy@"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "releasemgr@releases.test"
    yield mailbox
    controller.stop()


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])


def reminder_for(manager, address):
    manager.email = address
    manager.save()
    train = make_train(manager, **schedule(START))
    notifications.reminders_scan()
    notifications.reminders_fan_out()
    (pk,) = Notification.objects.filter(status="pending").values_list("pk", flat=True)
    return train, pk


def test_a_reminder_arrives_as_a_two_part_message_with_a_link(clock, manager, smtp_server):
    train, pk = reminder_for(manager, "manager@example.com")
    assert notifications.notification_deliver(notification_id=pk) == "sent"

    ((rcpt_tos, raw),) = smtp_server.received
    assert rcpt_tos == ["manager@example.com"]
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["To"] == "manager@example.com"
    assert message["From"] == "releasemgr@releases.test"
    # encoded (the dash is not ASCII) and folded onto a second line: unfolding leaves a space
    assert message["Subject"].strip() == f"[releasemgr] Due in 7 days: End of scoping — {train}"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == f"<releasemgr.notification.{pk}@releases.test>"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    train_url = f"https://releases.test/trains/{train.pk}/"
    assert "The end of the scoping phase" in text and train_url in text
    links = Links()
    links.feed(html)
    assert links.hrefs == [train_url, "https://releases.test/notifications/"]
    assert Notification.objects.get(pk=pk).status == "sent"


def test_a_refused_mailbox_fails_once_and_is_remembered(clock, manager, smtp_server):
    _, pk = reminder_for(manager, "gone@example.com")
    assert notifications.notification_deliver(notification_id=pk, final_attempt=False) == "failed"
    row = Notification.objects.get(pk=pk)
    assert row.last_error.startswith("Address refused: 550 5.1.1")
    assert UndeliverableAddress.objects.get().email == "gone@example.com"
    assert smtp_server.received == []


def test_a_busy_mailbox_is_retried_later(clock, manager, smtp_server):
    _, pk = reminder_for(manager, "busy@example.com")
    with pytest.raises(TemporaryMailError, match="451"):
        notifications.notification_deliver(notification_id=pk, final_attempt=False)
    row = Notification.objects.get(pk=pk)
    assert (row.status, row.attempts) == ("pending", 1)
    assert not UndeliverableAddress.objects.exists()


def test_a_server_that_is_down_is_retried_later(clock, manager, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    _, pk = reminder_for(manager, "manager@example.com")
    with pytest.raises(TemporaryMailError, match="ConnectionRefusedError"):
        notifications.notification_deliver(notification_id=pk, final_attempt=False)
    assert Notification.objects.get(pk=pk).status == "pending"
