"""Writes for reminders and notifications. Celery tasks (trains/tasks.py) call these.

Once per person and thing: a reminder is a row unique per (object, day, kind), so whoever
inserts it second — a second scan, a second beat process, a retried task — writes
nothing; the dispatcher fans each reminder out once into outbox rows unique per (reminder,
person); a worker sends a row while holding its lock and marks it sent in the same
transaction (at-least-once at the SMTP boundary, with a stable Message-ID: see "Sending").
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from releasemgr.db import bulk_insert
from releasemgr.exceptions import NotAllowed
from trains.choices import (
    REMINDER_NOTIFICATION,
    Delivery,
    NotificationKind,
    NotificationStatus,
    ReminderKind,
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
logger = logging.getLogger(__name__)


# The reminder scan ----------------------------------------------------------------------

# Reminders fanned out per transaction: bounds the transaction and the parameters of the
# recipients' queries, whatever the number due.
SCAN_BATCH = 10_000


@dataclass
class ScanResult:
    day: date
    due: int = 0  # deadlines this scan reminded of
    reminders: list[int] = field(default_factory=list)


def reminders_scan(*, now: datetime | None = None) -> ScanResult:
    """Write today's reminders for every deadline that needs one, each once: one row per
    due item and kind, not per person (the dispatcher fans them out, reminders_fan_out).

    One statement, in the database: INSERT ... SELECT from the scan's query
    (selectors.due_items_query), a row for each kind the item calls for today, ON
    CONFLICT DO NOTHING RETURNING. No row travels to Python and back. Rows go in the order
    of the unique key, so two scans at once wait for each other and never deadlock;
    whoever inserts a reminder second gets nothing back for it.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    due, params = selectors.due_items_query(
        today=today, offsets=settings.REMINDER_OFFSETS_DAYS
    ).query.sql_with_params()
    kinds, applies, kind_params = _kinds_due(today, settings.REMINDER_ESCALATE_AFTER_DAYS)
    ops = connection.ops
    quote = ops.quote_name
    meta = Reminder._meta
    columns = ", ".join(
        quote(meta.get_field(name).column)
        for name in ("train", "target", "target_id", "label", "phase", "kind", "due_date", "day")
        + ("created_at",)
    )
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # nosec B608 - identifiers from model metadata, the ORM's compiled SQL; values are parameters
        "SELECT d.r_train, d.r_target, d.r_id, d.r_label, d.r_phase, k.kind, d.r_due, %s, %s "
        f"FROM ({due}) AS d JOIN ({kinds}) AS k ON {applies} "
        "WHERE true "  # SQLite: tells the upsert's ON CONFLICT from a join's ON
        "ORDER BY d.r_target, d.r_id, k.kind "
        "ON CONFLICT (target, target_id, day, kind) DO NOTHING "
        "RETURNING id, target, target_id"
    )
    day_at = [ops.adapt_datefield_value(today), ops.adapt_datetimefield_value(now)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [*day_at, *params, *kind_params])
        written = cursor.fetchall()
    return ScanResult(
        day=today,
        due=len({(target, pk) for _, target, pk in written}),
        reminders=sorted(pk for pk, _, _ in written),
    )


def _kinds_due(today: date, escalate_after: int) -> tuple[str, str, list]:
    """The reminder kinds as rows, and the join's condition on the due item `d`: due soon
    from today on, overdue once past, and an escalation as well from `escalate_after` days
    overdue. SQL for `reminders_scan`: (rows, condition, the condition's params)."""
    rules = [
        (ReminderKind.DUE_SOON, ">=", today),
        (ReminderKind.OVERDUE, "<", today),
        (ReminderKind.ESCALATION, "<=", today - timedelta(days=escalate_after)),
    ]
    rows = " UNION ALL ".join(f"SELECT '{kind}' AS kind" for kind, _, _ in rules)
    condition = " OR ".join(f"(k.kind = '{kind}' AND d.r_due {op} %s)" for kind, op, _ in rules)
    return rows, condition, [connection.ops.adapt_datefield_value(day) for _, _, day in rules]


def reminders_fan_out(*, now: datetime | None = None, limit: int = SCAN_BATCH) -> int:
    """Write an outbox row for each person a new reminder tells (audience.of_reminders:
    whose work it waits for, among those who may open the train); the rows written.

    Per batch, one transaction takes the reminders not fanned out yet (FOR UPDATE SKIP
    LOCKED: dispatchers at once take different ones), writes their rows (unique per
    reminder and person) and marks them done, so each person hears of each reminder once.
    """
    written = 0
    while True:
        with transaction.atomic():
            batch = list(
                Reminder.objects.select_for_update(skip_locked=True)
                .filter(fanned_out_at__isnull=True)
                .order_by("id")
                .values_list("id", "train_id", "target", "phase", "kind")[:limit]
            )
            if not batch:
                return written
            recipients = audience.of_reminders(
                keys=((train, target, phase, kind) for _, train, target, phase, kind in batch)
            )
            outbox = [
                (train, pk, str(REMINDER_NOTIFICATION[kind]), user_id)
                for pk, train, target, phase, kind in batch
                for user_id in sorted(recipients[train, target, phase, kind])
            ]
            bulk_insert(
                Notification,
                ["train_id", "reminder_id", "kind", "recipient_id"],
                outbox,
                on_conflict=["reminder_id", "recipient_id"],
            )
            # the one change a reminder gets (see Reminder.fanned_out_at)
            Reminder._base_manager.filter(pk__in=[row[0] for row in batch]).update(
                fanned_out_at=now or timezone.now()
            )
            written += len(outbox)


# Sending: workers take pending rows themselves --------------------------------------------
#
# There is no hand-out step that a crash could split from the sending: a worker takes the
# next pending row with SELECT ... FOR UPDATE SKIP LOCKED, sends it and records the outcome
# in that one short transaction. A worker that dies mid-way (even by SIGKILL) loses its
# connection, PostgreSQL rolls its transaction back and drops the lock, and the row is
# pending again for the next worker, at once. Workers at once skip each other's rows.
#
# At the SMTP boundary this is at-least-once: a worker that dies after the server accepted
# a mail and before its commit leaves the row pending, and the mail goes again — with the
# same Message-ID (message_id below), so mail clients show it once.


def message_id(row: Notification | Digest) -> str:
    """A Message-ID that is the same every time this row is sent: from its id and the
    site's domain, so a copy sent again after a crash is folded by the mail client."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<releasemgr.{row._meta.model_name}.{row.pk}@{domain}>"


def _next_pending(queryset, *, now: datetime):
    """The oldest row due for a try that no other worker holds, locked (in a transaction)."""
    return (
        queryset.select_for_update(of=("self",), skip_locked=True)
        .filter(status=S.PENDING)
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .order_by("created_at", "id")
        .first()
    )


def _send_pending(
    queryset, deliver, *, now: datetime | None, limit: int | None, seconds: float | None
) -> list[int]:
    """Deliver pending rows one by one, each in its own transaction, until none is left,
    `limit` rows are done or `seconds` have passed; return the ids done.

    A row whose delivery breaks unexpectedly (a bug, not the mail server) is put back for
    a later try like a passing failure, so that it cannot block the rows behind it.
    """
    started = time.monotonic()
    done: list[int] = []
    while limit is None or len(done) < limit:
        if seconds is not None and time.monotonic() - started > seconds:
            break
        moment = now or timezone.now()
        row = None
        try:
            with transaction.atomic():
                row = _next_pending(queryset, now=moment)
                if row is None:
                    break
                deliver(row, now=moment)
        except Exception as error:
            if row is None:
                raise  # the database itself failed: the next dispatch tries again
            logger.exception("Delivering %s %s broke", queryset.model._meta.model_name, row.pk)
            _put_back(queryset.model, row.pk, error, now=moment)
        done.append(row.pk)
    return done


def _put_back(model, pk: int, error: Exception, *, now: datetime) -> None:
    with transaction.atomic():
        row = model.objects.select_for_update().filter(pk=pk, status=S.PENDING).first()
        if row is None:
            return
        row.attempts += 1
        row.last_error = f"{type(error).__name__}: {error}"
        if row.attempts > settings.NOTIFICATION_MAX_RETRIES:
            row.status = S.FAILED
            row.last_error += f" (gave up after {row.attempts} attempts)"
        else:
            row.retry_at = now + retry_delay(row.attempts)
        row.save(update_fields=["attempts", "last_error", "status", "retry_at"])


def notifications_send(
    *, now: datetime | None = None, limit: int | None = None, seconds: float | None = None
) -> list[int]:
    """Fan out new reminders, then send the pending notifications (see above); the ids of
    the rows done."""
    reminders_fan_out(now=now)
    rows = Notification.objects.select_related(*NOTIFICATION_RELATED)
    return _send_pending(rows, _deliver_notification, now=now, limit=limit, seconds=seconds)


def digests_send(
    *, now: datetime | None = None, limit: int | None = None, seconds: float | None = None
) -> list[int]:
    """Send the pending daily digests, as notifications_send does."""
    rows = Digest.objects.select_related("recipient")
    return _send_pending(rows, _deliver_digest, now=now, limit=limit, seconds=seconds)


NOTIFICATION_RELATED = ("recipient", "train", "event__train", "event__actor", "reminder__train")


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


def retry_delay(attempts: int) -> timedelta:
    """How long a passing failure waits before try `attempts + 1`: NOTIFICATION_RETRY_BACKOFF
    seconds, doubling up to NOTIFICATION_RETRY_BACKOFF_MAX, with jitter (half to all of it)
    so that many rows failed at once do not come back at once."""
    full = min(
        settings.NOTIFICATION_RETRY_BACKOFF * 2 ** max(attempts - 1, 0),
        settings.NOTIFICATION_RETRY_BACKOFF_MAX,
    )
    return timedelta(seconds=full * random.uniform(0.5, 1.0))  # nosec B311 - jitter


def _attempt(
    row: Notification | Digest, message: mail.Message, *, final: bool | None, now: datetime
):
    """Send and record the outcome on the row; return the passing error, if any.

    The last of NOTIFICATION_MAX_RETRIES + 1 tries (or `final`) gives up on a passing
    failure; before that the row stays pending until retry_at.
    """
    row.attempts += 1
    row.address, row.subject, row.body = message.to, message.subject, message.text
    if final is None:
        final = row.attempts > settings.NOTIFICATION_MAX_RETRIES
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
        row.retry_at = now + retry_delay(row.attempts)
        return error
    row.status, row.sent_at, row.last_error = S.SENT, now, ""
    return None


DELIVERY_FIELDS = [
    "status",
    "attempts",
    "address",
    "subject",
    "body",
    "last_error",
    "sent_at",
    "retry_at",
]


def _deliver_notification(
    row: Notification, *, now: datetime, final_attempt: bool | None = None
) -> TemporaryMailError | None:
    """Deliver one locked, pending row as its recipient chose: now, in the digest, or not
    at all; save the outcome. Returns the passing failure that left it pending, if any."""
    retry = None
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
            message = mail.render_notification(row, address, message_id=message_id(row))
            retry = _attempt(row, message, final=final_attempt, now=now)
    row.save(update_fields=DELIVERY_FIELDS)
    return retry


def notification_deliver(
    *, notification_id: int, final_attempt: bool | None = None, now: datetime | None = None
) -> str:
    """Deliver this one row if it is still pending (waiting for a worker that holds it).

    Raises TemporaryMailError when the server may take it later and this was not the
    final attempt; the row stays pending until its retry_at.
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update(of=("self",))
            .select_related(*NOTIFICATION_RELATED)
            .filter(pk=notification_id)
            .first()
        )
        if row is None or row.status != S.PENDING:
            return row.status if row else "missing"
        retry = _deliver_notification(row, now=now, final_attempt=final_attempt)
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


def _deliver_digest(
    digest: Digest, *, now: datetime, final_attempt: bool | None = None
) -> TemporaryMailError | None:
    """Send one locked, pending daily digest; its notifications share its outcome."""
    retry = None
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
        message = mail.render_digest(
            digest.recipient, items, address, message_id=message_id(digest)
        )
        retry = _attempt(digest, message, final=final_attempt, now=now)
    digest.save(update_fields=DELIVERY_FIELDS)
    if digest.status != S.PENDING:
        digest.notifications.update(
            status=digest.status,
            sent_at=digest.sent_at,
            address=digest.address,
            last_error=digest.last_error,
        )
    return retry


def digest_deliver(
    *, digest_id: int, final_attempt: bool | None = None, now: datetime | None = None
) -> str:
    """Send this one daily digest if it is still pending."""
    now = now or timezone.now()
    with transaction.atomic():
        digest = (
            Digest.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk=digest_id)
            .first()
        )
        if digest is None or digest.status != S.PENDING:
            return digest.status if digest else "missing"
        retry = _deliver_digest(digest, now=now, final_attempt=final_attempt)
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
