"""Writes for reminders and notifications. Celery tasks (trains/tasks.py) call these.

Exactly once: a reminder is a row unique per (object, day, kind), inserted in the same
transaction as its outbox rows, so whoever inserts it second — a second scan, a second
beat process, a retried task — gets an IntegrityError and queues nothing. Sending locks
the outbox row and sends only a row still pending, so a task delivered twice sends once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from releasemgr.db import bulk_insert
from releasemgr.exceptions import NotAllowed
from trains.choices import (
    REMINDER_NOTIFICATION,
    Delivery,
    NotificationKind,
    NotificationStatus,
)
from trains.models import (
    Digest,
    Notification,
    NotificationPreference,
    Reminder,
    UndeliverableAddress,
)
from trains.notifications import audience, mail, selectors
from trains.notifications.mail import PermanentMailError, TemporaryMailError

S = NotificationStatus


# The reminder scan ----------------------------------------------------------------------

# Reminders written per transaction: bounds the transaction and the parameters of the
# recipients' queries, whatever the number due.
SCAN_BATCH = 10_000


@dataclass
class ScanResult:
    day: date
    due: int = 0
    reminders: list[int] = field(default_factory=list)
    notifications: int = 0


def reminders_scan(*, now: datetime | None = None) -> ScanResult:
    """Write today's reminders for every deadline that is near or passed, each once.

    Set-based: one query finds what is due; then, per batch of SCAN_BATCH, one insert
    writes the reminders nobody wrote yet (INSERT ... ON CONFLICT DO NOTHING RETURNING),
    a few queries find who hears of them, and one insert queues their outbox rows, all in
    one transaction. Batches go in the order of the unique key, so two scans at once
    wait for each other and never deadlock; whoever inserts a reminder second gets
    nothing back for it and queues nothing.
    """
    today = timezone.localdate(now or timezone.now())
    items = selectors.due_items(
        today=today,
        offsets=settings.REMINDER_OFFSETS_DAYS,
        overdue_max_days=settings.REMINDER_OVERDUE_MAX_DAYS,
    )
    result = ScanResult(day=today, due=len(items))
    wanted = sorted(
        (
            (item.target, item.target_id, str(kind), item)
            for item in items
            for kind in selectors.reminder_kinds(
                item=item, today=today, escalate_after=settings.REMINDER_ESCALATE_AFTER_DAYS
            )
        ),
        key=lambda row: row[:3],
    )
    for first in range(0, len(wanted), SCAN_BATCH):
        with transaction.atomic():
            written, notified = _remind(wanted[first : first + SCAN_BATCH], today=today)
        result.reminders += written
        result.notifications += notified
    return result


def _remind(wanted: list[tuple], *, today: date) -> tuple[list[int], int]:
    """Insert the reminders not yet written and their outbox rows; (their ids, rows)."""
    inserted = bulk_insert(
        Reminder,
        ["train_id", "target", "target_id", "label", "phase", "kind", "due_date", "day"],
        [
            (item.train_id, target, target_id, item.label[:200], item.phase, kind, item.due, today)
            for target, target_id, kind, item in wanted
        ],
        on_conflict=["day", "target", "target_id", "kind"],
        returning=["id", "target", "target_id", "kind"],
    )
    if not inserted:
        return [], 0
    ids = {(target, target_id, kind): pk for pk, target, target_id, kind in inserted}
    written = [
        (ids[target, target_id, kind], kind, item)
        for target, target_id, kind, item in wanted
        if (target, target_id, kind) in ids
    ]
    recipients = audience.of_reminders(
        keys=((item.train_id, item.target, item.phase, kind) for _, kind, item in written)
    )
    outbox = [
        (item.train_id, pk, notice, user_id)
        for pk, kind, item in written
        for notice in [str(REMINDER_NOTIFICATION[kind])]
        for user_id in sorted(recipients[item.train_id, item.target, item.phase, kind])
    ]
    bulk_insert(Notification, ["train_id", "reminder_id", "kind", "recipient_id"], outbox)
    return [pk for pk, _, _ in written], len(outbox)


# Dispatch: hand pending rows to workers ---------------------------------------------------


def _claim(queryset, *, now: datetime, limit: int) -> list[int]:
    """Mark up to `limit` pending rows as handed to a worker now; return their ids.

    A row handed out but not finished within NOTIFICATION_REQUEUE_AFTER_SECONDS (its task
    was lost with a broker) is handed out again; sending it twice is prevented by the lock
    in delivery.
    """
    stale = now - timedelta(seconds=settings.NOTIFICATION_REQUEUE_AFTER_SECONDS)
    with transaction.atomic():
        ids = list(
            queryset.select_for_update(skip_locked=True)
            .filter(status=S.PENDING)
            .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=stale))
            .order_by("created_at")
            .values_list("pk", flat=True)[:limit]
        )
        queryset.filter(pk__in=ids).update(queued_at=now)
    return ids


def notifications_dispatch(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    return _claim(Notification.objects.all(), now=now or timezone.now(), limit=limit)


def digests_dispatch(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    return _claim(Digest.objects.all(), now=now or timezone.now(), limit=limit)


# Delivery -----------------------------------------------------------------------------------


def _check_address(recipient: AbstractBaseUser) -> tuple[str, str, str]:
    """(address, status, reason): status empty when the address may be tried."""
    address = (recipient.email or "").strip()
    if not recipient.is_active:
        return address, S.SKIPPED, "The recipient's account is inactive."
    if not address:
        return address, S.SKIPPED, "The recipient has no e-mail address."
    refused = selectors.undeliverable(address=address)
    if refused is not None:
        return (
            address,
            S.FAILED,
            (
                f"{address} is marked undeliverable since {refused.created_at:%Y-%m-%d}: "
                f"{refused.reason}"
            ),
        )
    return address, "", ""


def _attempt(row: Notification | Digest, message: mail.Message, *, final: bool, now: datetime):
    """Send and record the outcome on the row; return the error to retry on, if any."""
    row.attempts += 1
    row.address, row.subject, row.body = message.to, message.subject, message.text
    try:
        mail.send(message)
    except PermanentMailError as error:
        row.status, row.last_error = S.FAILED, str(error)
        if error.address_refused:
            UndeliverableAddress.objects.bulk_create(
                [UndeliverableAddress(email=message.to.lower(), reason=str(error))],
                ignore_conflicts=True,
            )
        return None
    except TemporaryMailError as error:
        row.last_error = str(error)
        if final:
            row.status = S.FAILED
            row.last_error += f" (gave up after {row.attempts} attempts)"
            return None
        return error
    row.status, row.sent_at, row.last_error = S.SENT, now, ""
    return None


DELIVERY_FIELDS = ["status", "attempts", "address", "subject", "body", "last_error", "sent_at"]


def notification_deliver(
    *, notification_id: int, final_attempt: bool = True, now: datetime | None = None
) -> str:
    """Deliver one outbox row as its recipient chose: now, in the digest, or not at all.

    Raises TemporaryMailError when the server may take it later and this was not the
    final attempt (the task retries with backoff); the row stays pending meanwhile.
    """
    now = now or timezone.now()
    retry = None
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient", "train", "event__train", "event__actor", "reminder__train")
            .filter(pk=notification_id)
            .first()
        )
        if row is None or row.status != S.PENDING:
            return row.status if row else "missing"
        delivery = selectors.delivery_for(user_id=row.recipient_id, kind=row.kind)
        if delivery == Delivery.OFF:
            row.status, row.last_error = S.SKIPPED, "Turned off in the recipient's preferences."
        elif delivery == Delivery.DIGEST:
            row.status = S.DIGEST
        else:
            address, status, reason = _check_address(row.recipient)
            if status:
                row.status, row.last_error, row.address = status, reason, address
            else:
                message = mail.render_notification(row, address)
                retry = _attempt(row, message, final=final_attempt, now=now)
        row.save(update_fields=DELIVERY_FIELDS)
    if retry is not None:
        raise retry
    return row.status


def digests_build(*, now: datetime | None = None) -> list[int]:
    """Gather each person's digest notifications into today's digest (one per day)."""
    today = timezone.localdate(now or timezone.now())
    waiting = Notification.objects.filter(status=S.DIGEST, digest__isnull=True)
    made = []
    for user_id in waiting.order_by().values_list("recipient_id", flat=True).distinct():
        with transaction.atomic():
            try:
                with transaction.atomic():
                    digest = Digest.objects.create(recipient_id=user_id, day=today)
            except IntegrityError:
                continue  # today's digest exists; what came since waits for tomorrow's
            ids = list(
                waiting.filter(recipient_id=user_id)
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)
            )
            if not ids:
                transaction.set_rollback(True)
                continue
            Notification.objects.filter(pk__in=ids).update(digest=digest)
        made.append(digest.pk)
    return made


def digest_deliver(
    *, digest_id: int, final_attempt: bool = True, now: datetime | None = None
) -> str:
    """Send one daily digest; its notifications share its outcome."""
    now = now or timezone.now()
    retry = None
    with transaction.atomic():
        digest = (
            Digest.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk=digest_id)
            .first()
        )
        if digest is None or digest.status != S.PENDING:
            return digest.status if digest else "missing"
        items = list(
            digest.notifications.select_related(
                "train", "event__train", "event__actor", "reminder__train"
            ).order_by("train__name", "created_at", "id")
        )
        address, status, reason = _check_address(digest.recipient)
        if not items:
            digest.status, digest.last_error = S.SKIPPED, "Nothing to send."
        elif status:
            digest.status, digest.last_error, digest.address = status, reason, address
        else:
            message = mail.render_digest(digest.recipient, items, address)
            retry = _attempt(digest, message, final=final_attempt, now=now)
        digest.save(update_fields=DELIVERY_FIELDS)
        if digest.status != S.PENDING:
            digest.notifications.update(
                status=digest.status,
                sent_at=digest.sent_at,
                address=digest.address,
                last_error=digest.last_error,
            )
    if retry is not None:
        raise retry
    return digest.status


# Preferences and addresses -------------------------------------------------------------------


def preferences_set(*, user: AbstractBaseUser, choices: dict[str, str]) -> None:
    """Set how this person hears of each kind of notification; all or nothing."""
    errors = {}
    for kind, delivery in choices.items():
        if kind not in NotificationKind.values:
            errors[kind] = f"Unknown kind of notification: {kind}."
        elif delivery not in Delivery.values:
            errors[kind] = f"Choose one of: {', '.join(Delivery.labels)}."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for kind, delivery in choices.items():
            NotificationPreference.objects.update_or_create(
                user=user, kind=kind, defaults={"delivery": delivery}
            )


def undeliverable_clear(*, by: AbstractBaseUser, address: str) -> None:
    """Try an address again: a person for their own address, staff for anyone's."""
    address = (address or "").strip().lower()
    if not by.is_staff and address != (by.email or "").strip().lower():
        raise NotAllowed("You can only clear your own address.")
    UndeliverableAddress.objects.filter(email=address).delete()
