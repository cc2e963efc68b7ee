"""Who is told of what: the audience of every notification, from the access policy.

A step tells whom its row in the state table says (`workflow.Tell`); the other events
name their people below; reminders go to whoever's work the deadline waits for. Every
audience is a set of people who may see the train (`trains.access`), and `record` in
trains/services keeps only those: nobody is mailed about a train they cannot open.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from applications.models import ApplicationRelease
from releasemgr import roles
from releasemgr.db import id_list
from trains import access
from trains.choices import PhaseKind, ReminderKind, ReminderTarget
from trains.models import ReleaseTrain
from trains.notifications.rules import ESCALATION_GATE
from trains.workflow import STEPS, Tell


def product_owners(train: ReleaseTrain) -> QuerySet:
    return get_user_model().objects.filter(owned_applications__releases__train=train).distinct()


def of_step(train: ReleaseTrain, name: str) -> Iterable:
    """Who hears that a step was taken, as its row in the state table says."""
    step = STEPS[name]
    if step.tell == Tell.APPROVERS:
        return access.deciders(train, step.gate)
    if step.tell == Tell.OWNERS_AND_LEAD:
        return [*product_owners(train), train.primary_manager]
    if step.tell == Tell.LEAD:
        return [train.primary_manager]
    return access.users_who_can_view(train)


def of_turnover_submitted(train: ReleaseTrain) -> QuerySet:
    """The release engineers who deploy the train: its assigned ones, or every release
    engineer who sees it when none is assigned."""
    return access.users_who_may(train, access.DEPLOY, role=roles.RELEASE_ENGINEERS)


def viewers_among(train: ReleaseTrain, user_ids: Iterable[int]) -> set[int]:
    """Those of these people who may see the train (one query)."""
    user_ids = set(user_ids)
    if not user_ids:
        return set()
    return {u for _, u in access.pairs([train.pk], access.VIEW, among=user_ids)}


# Reminders ------------------------------------------------------------------------------

# What decides who hears of a reminder: (train id, target, phase, reminder kind).
RecipientKey = tuple[int, str, str, str]


def _by_train(rows) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    for train_id, user_id in rows:
        found.setdefault(train_id, set()).add(user_id)
    return found


def of_reminders(*, keys: Iterable[RecipientKey]) -> dict[RecipientKey, set[int]]:
    """Who is reminded, for many reminders at once, in at most five queries.

    The people whose work the deadline waits for: the train's release managers always;
    for a construction deadline the product owners of its releases; for verification the
    QA people who may tick its criteria; for deployment the release engineers who may
    deploy it. An escalation goes to whoever may decide at the gate that closes the
    phase. Inactive people hear of nothing.
    """
    keys = set(keys)
    escalations = {(t, ESCALATION_GATE[p]) for t, _, p, k in keys if k == ReminderKind.ESCALATION}
    others = [key for key in keys if key[3] != ReminderKind.ESCALATION]
    phase_end, milestone = ReminderTarget.PHASE, ReminderTarget.MILESTONE
    P = PhaseKind
    managed = {t for t, _, _, _ in others}
    owned = {t for t, target, p, _ in others if target == phase_end and p == P.CONSTRUCTION}
    tested = {t for t, target, p, _ in others if target != milestone and p == P.VERIFICATION}
    deployed = {t for t, target, p, _ in others if target == phase_end and p == P.DEPLOYMENT}

    managers = _by_train(access.pairs(managed, access.MANAGE)) if managed else {}
    owners = (
        _by_train(
            ApplicationRelease.objects.filter(
                train_id__in=id_list(owned), application__product_owner__is_active=True
            )
            .order_by()
            .values_list("train_id", "application__product_owner_id")
        )
        if owned
        else {}
    )
    testers = (
        _by_train(access.pairs(tested, access.TICK_VERIFICATION, role=roles.QA)) if tested else {}
    )
    engineers = (
        _by_train(access.pairs(deployed, access.DEPLOY, role=roles.RELEASE_ENGINEERS))
        if deployed
        else {}
    )
    approvers: dict[tuple[int, str], set[int]] = {}
    if escalations:
        for pair, user_id in access.decider_pairs(escalations):
            approvers.setdefault(pair, set()).add(user_id)

    recipients = {}
    for key in keys:
        train_id, target, phase, kind = key
        if kind == ReminderKind.ESCALATION:
            recipients[key] = set(approvers.get((train_id, ESCALATION_GATE[phase]), ()))
            continue
        people = set(managers.get(train_id, ()))
        if target == ReminderTarget.MILESTONE:
            pass
        elif phase == PhaseKind.CONSTRUCTION and target == ReminderTarget.PHASE:
            people |= owners.get(train_id, set())
        elif phase == PhaseKind.VERIFICATION:
            people |= testers.get(train_id, set())
        elif phase == PhaseKind.DEPLOYMENT and target == ReminderTarget.PHASE:
            people |= engineers.get(train_id, set())
        recipients[key] = people
    return recipients
