"""Rendering one message (plain text and HTML, with a link to act on) and sending it,
telling a lasting failure (the address is refused) from a passing one (retry later)."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from releasemgr.people import name_of
from trains import workflow
from trains.choices import NotificationKind, PhaseKind, ReminderKind, ReminderTarget
from trains.models import Notification, Reminder, TrainEvent
from trains.services.links import decision_links_for, max_age
from trains.status import train_status


class MailError(Exception):
    """Sending failed; str(error) says why, for the sent-mail page."""


class TemporaryMailError(MailError):
    """Worth trying again later: the server was away, busy or said 4xx."""


class PermanentMailError(MailError):
    """Trying again will not help: the server said 5xx."""

    def __init__(self, message: str, *, address_refused: bool) -> None:
        super().__init__(message)
        self.address_refused = address_refused


@dataclass
class Content:
    """What one notification says, before it is put into a message."""

    subject: str
    heading: str
    lines: list[str] = field(default_factory=list)
    action_url: str = ""
    action_label: str = "Open the train"


@dataclass
class Message:
    to: str
    subject: str
    text: str
    html: str
    # The same for every copy of this mail (services.message_id), so that a copy sent again
    # after a crash is shown once by the mail client.
    message_id: str = ""


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _train_url(train_id: int) -> str:
    # The train page is part of the stable contract: /trains/<id>/.
    return absolute(f"/trains/{train_id}/")


def _gate_of(transition: str) -> str:
    return workflow.gate_of(transition).label


def _standing(train) -> list[str]:
    """Where the train stands now (train_status), in the words of its page."""
    status = train_status(train)
    lines = [
        "Required exit criteria met so far: "
        + ", ".join(f"{p.label.lower()} {p.met} of {p.total}" for p in status.criteria_so_far),
        f"Application releases development-complete: {status.releases_complete} of "
        f"{status.releases_total}",
    ]
    if status.is_open and status.waiting:
        lines.append(f"Waiting for: {status.waiting_text}")
    if status.health:
        lines.append(f"Health: {status.health_label} ({status.health_text})")
    return lines


def event_content(event: TrainEvent, kind: str) -> Content:
    train = event.train
    actor = name_of(event.actor)
    url = _train_url(train.pk)
    if kind == NotificationKind.APPROVAL_REQUESTED:
        gate = _gate_of(event.transition)
        return Content(
            subject=f"Approval requested: {train}",
            heading=f"{train} waits for your decision ({gate.lower()}).",
            lines=([event.message] if event.message else []) + _standing(train),
            action_url=absolute("/approvals/"),
            action_label="Open your approvals inbox",
        )
    if kind == NotificationKind.REJECTED:
        gate = _gate_of(event.transition)
        return Content(
            subject=f"Rejected at {gate.lower()}: {train}",
            heading=f"{train} was rejected at {gate.lower()}" + (f" by {actor}." if actor else "."),
            lines=[f"Reason: {event.message}"],
            action_url=url,
        )
    if kind == NotificationKind.DEPLOYMENT_FAILED:
        return Content(
            subject=f"Deployment failed: {train}",
            heading=f"A deployment of {train} failed" + (f" ({actor})." if actor else "."),
            lines=["The train stays in deployment until a deployment succeeds."],
            action_url=url,
        )
    if kind == NotificationKind.TRAIN_CLOSED:
        if event.transition == "cancel":
            return Content(
                subject=f"Train cancelled: {train}",
                heading=f"{train} was cancelled" + (f" by {actor}." if actor else "."),
                lines=[f"Reason: {event.message}"] if event.message else [],
                action_url=url,
            )
        return Content(
            subject=f"Train closed: {train}",
            heading=f"{train} was deployed and is closed.",
            action_url=url,
        )
    if kind == NotificationKind.TURNOVER_DECIDED:
        accepted = bool(event.data.get("accept"))
        verdict = "accepted" if accepted else "rejected"
        return Content(
            subject=f"Turnover {verdict}: {train}",
            heading=f"A turnover on {train} was {verdict}" + (f" by {actor}." if actor else "."),
            lines=[event.message]
            + ([] if accepted else ["Submit it again from the train's page once it is fixed."]),
            action_url=url,
        )
    if kind == NotificationKind.TURNOVER_SUBMITTED:
        return Content(
            subject=f"Turnover submitted: {train}",
            heading=f"{event.message} ({train}); it waits for a release engineer.",
            action_url=url,
        )
    return Content(
        subject=f"{train}: {event.message or event.get_kind_display()}",
        heading=event.message or event.get_kind_display(),
        lines=[f"By {actor}."] if actor else [],
        action_url=url,
    )


def _what(reminder: Reminder) -> str:
    phase = PhaseKind(reminder.phase).label.lower()
    if reminder.target == ReminderTarget.PHASE:
        return f"The end of the {phase} phase"
    if reminder.target == ReminderTarget.CRITERION:
        return f"Exit criterion “{reminder.label}” ({phase})"
    return f"Milestone “{reminder.label}”"


def reminder_content(reminder: Reminder) -> Content:
    train = reminder.train
    what = _what(reminder)
    left = reminder.days_left
    due = reminder.due_date.isoformat()
    url = _train_url(train.pk)
    if reminder.kind == ReminderKind.DUE_SOON and left == 0:  # a reminder caught up late
        return Content(
            subject=f"Due today: {reminder.label} — {train}",
            heading=f"{what} of {train} is due today, {due}.",
            action_url=url,
        )
    if reminder.kind == ReminderKind.DUE_SOON:
        return Content(
            subject=f"Due in {_days(left)}: {reminder.label} — {train}",
            heading=f"{what} of {train} is due in {_days(left)}, on {due}.",
            action_url=url,
        )
    if reminder.kind == ReminderKind.OVERDUE:
        return Content(
            subject=f"Overdue by {_days(-left)}: {reminder.label} — {train}",
            heading=f"{what} of {train} was due on {due}: {_days(-left)} ago.",
            lines=[
                "You will be reminded every day for its first week overdue, then once a "
                "week, until it is done, the date moves or the train closes."
            ],
            action_url=url,
        )
    return Content(
        subject=f"Escalation: {reminder.label} — {train} is {_days(-left)} overdue",
        heading=f"{what} of {train} was due on {due}, {_days(-left)} ago.",
        lines=[
            "You approve a gate of this train. Its release managers have been reminded "
            "since the deadline passed."
        ],
        action_url=url,
    )


def notification_content(notification: Notification) -> Content:
    if notification.event_id:
        return event_content(notification.event, notification.kind)
    return reminder_content(notification.reminder)


def _context(recipient, **extra) -> dict:
    return {
        "recipient_name": name_of(recipient),
        "preferences_url": absolute(reverse("notifications:preferences")),
        "site_url": settings.SITE_URL,
        **extra,
    }


def render_notification(
    notification: Notification, address: str, *, message_id: str = ""
) -> Message:
    content = notification_content(notification)
    context = _context(
        notification.recipient,
        content=content,
        kind_label=NotificationKind(notification.kind).label,
    )
    if notification.kind == NotificationKind.APPROVAL_REQUESTED and notification.event_id:
        context["decision_links"] = [
            {
                **link,
                "approve_url": absolute(link["approve_url"]),
                "reject_url": absolute(link["reject_url"]),
            }
            for link in decision_links_for(
                event=notification.event, recipient=notification.recipient
            )
        ]
        context["decision_links_days"] = max_age().days
    return Message(
        to=address,
        subject=f"[releasemgr] {content.subject}"[:250],
        text=render_to_string("trains/email/notification.txt", context),
        html=render_to_string("trains/email/notification.html", context),
        message_id=message_id,
    )


def render_digest(
    recipient, notifications: list[Notification], address: str, *, message_id: str = ""
) -> Message:
    items = [(n, notification_content(n)) for n in notifications]
    context = _context(recipient, items=items, count=len(items))
    noun = "notification" if len(items) == 1 else "notifications"
    return Message(
        to=address,
        subject=f"[releasemgr] Your daily digest: {len(items)} {noun}",
        text=render_to_string("trains/email/digest.txt", context),
        html=render_to_string("trains/email/digest.html", context),
        message_id=message_id,
    )


def send(message: Message) -> None:
    """Send through Django's mail backend; raise TemporaryMailError or PermanentMailError."""
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={
            "Auto-Submitted": "auto-generated",
            **({"Message-ID": message.message_id} if message.message_id else {}),
        },
    )
    email.attach_alternative(message.html, "text/html")
    try:
        email.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as error:
        refusals = error.recipients.values()
        detail = "; ".join(f"{code} {_text(reply)}" for code, reply in refusals)
        if refusals and all(500 <= code < 600 for code, _ in refusals):
            raise PermanentMailError(f"Address refused: {detail}", address_refused=True) from error
        raise TemporaryMailError(f"Address deferred: {detail}") from error
    except smtplib.SMTPDataError as error:
        detail = f"{error.smtp_code} {_text(error.smtp_error)}"
        if 500 <= error.smtp_code < 600:
            raise PermanentMailError(f"Message refused: {detail}", address_refused=False) from error
        raise TemporaryMailError(f"Message deferred: {detail}") from error
    except smtplib.SMTPResponseException as error:
        raise TemporaryMailError(f"{error.smtp_code} {_text(error.smtp_error)}") from error
    except (smtplib.SMTPException, OSError) as error:
        raise TemporaryMailError(f"{type(error).__name__}: {error}") from error


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
