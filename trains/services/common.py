"""What every command on a train shares: the row lock, the history row with its
notifications, and running one step of the state table."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from applications.models import ApplicationRelease
from releasemgr.exceptions import (
    ConcurrentChange,
    ConditionsUnmet,
    InvalidState,
)
from trains import facts, signals, workflow
from trains.choices import (
    FINAL_STATES,
    STATE_PHASE,
    STATE_WHERE,
    EventKind,
    TrainState,
)
from trains.models import (
    Baseline,
    Notification,
    Phase,
    ReleaseTrain,
    TrainEvent,
)
from trains.notifications import audience
from trains.notifications.rules import event_notification_kind

User = AbstractBaseUser


def lock_train(
    train: ReleaseTrain,
    *,
    expect_state: bool = False,
    shown_state: str = "",
    by: User | None = None,
) -> ReleaseTrain:
    """Lock the train row until the transaction ends and return it fresh.

    With expect_state, refuse when the state changed since the person saw the train: two
    people pressed a button at once and the other one won. What they saw is the state
    their page showed (`shown_state`, a form's hidden `state`) when it names one, else
    the train as the caller read it, which a request that starts after the other one's
    commit reads already moved. When the move was `by`'s own (a second press, another
    tab), the refusal says so rather than blaming someone else.
    """
    locked = ReleaseTrain.objects.select_for_update().get(pk=train.pk)
    seen = shown_state if shown_state in TrainState.values else train.state
    if expect_state and locked.state != seen:
        where = STATE_WHERE[TrainState(locked.state)]
        if by is not None and _moved_last_by(locked) == by.pk:
            raise ConcurrentChange(f"You have moved this train already: it is now {where}.")
        raise ConcurrentChange(f"Someone else moved this train first: it is now {where}.")
    return locked


def _moved_last_by(train: ReleaseTrain) -> int | None:
    """Who took the train to the state it is in: the last history row that moved it from
    another state (a new train's row has none)."""
    return (
        TrainEvent.objects.filter(train=train, to_state=train.state)
        .exclude(from_state__in=["", train.state])
        .order_by("-created_at", "-id")
        .values_list("actor_id", flat=True)
        .first()
    )


def require_open(train: ReleaseTrain) -> None:
    if not train.is_open:
        raise InvalidState(f"{workflow.where(train.state)}; it cannot change.")


def record(
    train: ReleaseTrain,
    kind: str,
    by: User | None,
    message: str = "",
    *,
    from_state: str = "",
    to_state: str = "",
    transition: str = "",
    data: dict | None = None,
    notify: Iterable[User] = (),
) -> TrainEvent:
    """Write the history row of a change, and queue a notification for each person in
    `notify` who may see the train, but not for who made the change. What the train's
    conditions are computed from may have changed: they are read again when next asked."""
    facts.forget(train)
    event = TrainEvent.objects.create(
        train=train,
        kind=kind,
        actor=by,
        from_state=from_state,
        to_state=to_state,
        transition=transition,
        message=message,
        data=data or {},
    )
    recipients = {u.pk for u in notify if u is not None and u.is_active}
    if by is not None:
        recipients.discard(by.pk)  # people do not need to hear about what they just did
    recipients = audience.viewers_among(train, recipients)
    notification_kind = event_notification_kind(
        kind=kind, transition=transition, to_state=to_state, data=event.data
    )
    Notification.objects.bulk_create(
        [
            Notification(event=event, train=train, kind=notification_kind, recipient_id=pk)
            for pk in sorted(recipients)
        ],
        ignore_conflicts=True,
    )
    transaction.on_commit(
        lambda: signals.train_event_recorded.send(sender=TrainEvent, event_id=event.pk)
    )
    return event


def stamp_phases(train: ReleaseTrain, from_state: str, to_state: str) -> None:
    """Record when phases actually start and end (for on-time metrics)."""
    before, after = STATE_PHASE.get(from_state), STATE_PHASE.get(to_state)
    if before == after or to_state == TrainState.CANCELLED:
        return
    now = timezone.now()
    if before is not None:
        Phase.objects.filter(train=train, kind=before, actual_end__isnull=True).update(
            actual_end=now
        )
    if after is not None:
        Phase.objects.filter(train=train, kind=after, actual_start__isnull=True).update(
            actual_start=now
        )


def retire_parts(train: ReleaseTrain) -> None:
    """A train that closed or was cancelled: its phases, milestones and criteria leave the
    reminder scan's indexes (their `train_open` copy)."""
    for parts in (train.phases, train.milestones, train.criteria):
        parts.filter(train_open=True).update(train_open=False)


def run_step(
    train: ReleaseTrain,
    name: str,
    by: User | None,
    reason: str = "",
    *,
    data: dict | None = None,
    **kwargs,
) -> ReleaseTrain:
    """Run one transition on a locked train: state, conditions, history, notifications."""
    step = workflow.STEPS[name]
    if not workflow.possible(train, name):
        raise InvalidState(workflow.refusal(train.state, name))
    unmet = workflow.unmet(train, name)
    if unmet:
        raise ConditionsUnmet(step.label.lower(), unmet)
    from_state = train.state
    getattr(train, name)(**kwargs)  # its condition is read from the facts just computed
    train.save()
    stamp_phases(train, from_state, train.state)
    if train.state in FINAL_STATES:
        retire_parts(train)
    record(
        train,
        EventKind.TRANSITION,
        by,
        reason,
        from_state=from_state,
        to_state=train.state,
        transition=name,
        data=data,
        notify=audience.of_step(train, name),
    )
    if step.takes_baseline:
        take_baseline(train, by, f"{step.label}: the plan as it stood")
    return train


def take_baseline(train: ReleaseTrain, by: User | None, reason: str) -> Baseline:
    """Save the plan of a locked train as its next baseline: the window, each phase's
    planned end, the milestones and the releases on it; and say so in the history."""
    last = train.baselines.order_by("-number").values_list("number", flat=True).first()
    baseline = Baseline.objects.create(
        train=train,
        number=(last or 0) + 1,
        taken_by=by,
        reason=reason,
        start_date=train.start_date,
        end_date=train.end_date,
        phases={
            p.kind: p.planned_end.isoformat() if p.planned_end else None for p in train.phases.all()
        },
        milestones=[
            {"id": m.pk, "name": m.name, "due": m.due_date.isoformat()}
            for m in train.milestones.all()
        ],
        releases=[
            {"id": r.pk, "name": str(r)}
            for r in ApplicationRelease.objects.filter(train=train)
            .select_related("application")
            .order_by("application__name", "version")
        ],
    )
    record(
        train,
        EventKind.BASELINE,
        by,
        f"Baseline {baseline.number} taken: {reason}",
        data={"baseline": baseline.pk, "number": baseline.number, "reason": reason},
    )
    return baseline


def clean_reason(reason: str, step_label: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": f"Give a reason to {step_label.lower()}."})
    return reason
