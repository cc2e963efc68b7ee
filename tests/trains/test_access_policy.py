"""The access policy is one list of rules; its forms must never disagree.

Hypothesis draws people with random roles (some inactive), trains led by some of them,
and random ties: grants of view or manage to people and groups, releases owned,
approvers named or by group, engineers assigned. For every action, person and train:
the per-train check, the set of trains, the batch column for lists and the audience
(one train, and many at once) give the same answer. Then every notification written
about those trains, and every reminder's audience, names only people who may open them.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from guardian.shortcuts import assign_perm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from applications.models import Application, ApplicationRelease
from approvals.models import ApprovalRequirement, Gate
from releasemgr import roles
from tests.factories import UserFactory, fresh, make_train
from trains import access, services
from trains.choices import PhaseKind, ReminderKind, ReminderTarget
from trains.models import Notification, ReleaseTrain, ReleaseTrainGroupObjectPermission
from trains.notifications import audience

pytestmark = pytest.mark.django_db

PEOPLE = 6
TRAINS = 2

person = st.integers(0, PEOPLE - 1)
group = st.sampled_from([*roles.ALL_ROLES, "cab"])
tie = st.one_of(
    st.tuples(st.just("grant"), person, st.sampled_from(["view", "manage"])),
    st.tuples(st.just("grant_group"), group, st.sampled_from(["view", "manage"])),
    st.tuples(st.just("owner"), person),
    st.tuples(st.just("approver"), person, st.sampled_from(list(Gate))),
    st.tuples(st.just("approver_group"), group, st.sampled_from(list(Gate))),
    st.tuples(st.just("engineer"), person),
)
world = st.fixed_dictionaries(
    {
        "roles": st.lists(st.sets(group, max_size=3), min_size=PEOPLE, max_size=PEOPLE),
        "inactive": st.sets(person, max_size=2),
        "lead_groups": st.sets(group, max_size=2),  # the primary manager's other groups
        "superuser": st.one_of(st.none(), person),
        "ties": st.lists(st.lists(tie, max_size=6), min_size=TRAINS, max_size=TRAINS),
    }
)


def worlds(n: int):
    """Run the test on `n` drawn worlds, the same ones every run (HYPOTHESIS_PROFILE
    does not change them: CI must be repeatable)."""

    def decorate(test):
        return settings(
            max_examples=n,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )(given(spec=world)(test))

    return decorate


def _build(spec: dict, lead):
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in [*roles.ALL_ROLES, "cab"]}
    lead.groups.add(*(groups[n] for n in spec["lead_groups"]))
    users = []
    for i, names in enumerate(spec["roles"]):
        user = UserFactory(username=f"p{i}", is_superuser=spec["superuser"] == i)
        user.groups.set([groups[n] for n in names])
        users.append(user)
    trains = []
    for n, ties in enumerate(spec["ties"]):
        train = make_train(lead, name=f"Policy {n}")
        for kind, *args in ties:
            if kind == "grant":
                who, level = users[args[0]], args[1]
                assign_perm(access.VIEW_PERM, who, train)
                if level == "manage":
                    assign_perm(access.MANAGE_PERM, who, train)
            elif kind == "grant_group":
                code = access.VIEW_PERM if args[1] == "view" else access.MANAGE_PERM
                assign_perm(code, groups[args[0]], train)
            elif kind == "owner":
                app = Application.objects.create(
                    name=f"App {train.pk}-{args[0]}-{Application.objects.count()}",
                    product_owner=users[args[0]],
                )
                ApplicationRelease.objects.create(application=app, version="1.0", train=train)
            elif kind == "approver":
                ApprovalRequirement.objects.get_or_create(
                    train=train, gate=args[1], user=users[args[0]]
                )
            elif kind == "approver_group":
                ApprovalRequirement.objects.get_or_create(
                    train=train, gate=args[1], group=groups[args[0]]
                )
            else:
                train.release_engineers.add(users[args[0]])
        trains.append(train)
    for i in spec["inactive"]:
        users[i].is_active = False
        users[i].save(update_fields=["is_active"])
    return [fresh(u) for u in users], [fresh(t) for t in trains]


def _reload(user):
    """The user as a request sees them: groups read afresh."""
    user = type(user).objects.get(pk=user.pk)
    return user


@pytest.mark.slow
@worlds(25)
def test_every_form_of_the_policy_gives_the_same_answer(spec, manager):
    with transaction.atomic():
        users, trains = _build(spec, manager)
        everyone = [manager, *users]
        ids = [t.pk for t in trains]
        for action in access.ACTIONS:
            pairs = set(access.pairs(ids, action))
            for train in trains:
                audience_ = set(access.users_who_may(train, action).values_list("pk", flat=True))
                assert {u for t, u in pairs if t == train.pk} == audience_, action
                for user in map(_reload, everyone):
                    one = access.may(user, action, ReleaseTrain.objects.get(pk=train.pk))
                    in_set = access.trains_for(user, action).filter(pk=train.pk).exists()
                    by_row = access.trains_for(user, action, by_row=True)
                    assert by_row.filter(pk=train.pk).exists() == in_set, (action, user)
                    column = access.remember_permissions(
                        access.with_permissions(
                            ReleaseTrain.objects.filter(pk=train.pk), user, action
                        ).get(),
                        user,
                    )
                    assert one == in_set == access.may(user, action, column), (action, user)
                    if user.is_active and not user.is_superuser:
                        assert one == (user.pk in audience_), (action, user)
                    # every action needs the train to be visible
                    if one:
                        assert access.may(user, access.VIEW, train), (action, user)
            for user in map(_reload, everyone):
                # deciding: the pending-requirements query and the one-row check agree
                for requirement in ApprovalRequirement.objects.filter(train__in=trains):
                    listed = access.decidable_requirements(user).filter(pk=requirement.pk).exists()
                    assert listed == access.may_decide(user, requirement, requirement.train)
        # ... and so do the audiences of one gate and of many gates at once
        gates = {(t.pk, g) for t in trains for g in Gate}
        many = {}
        for pair, user_id in access.decider_pairs(gates):
            many.setdefault(pair, set()).add(user_id)
        for train in trains:
            for gate in Gate:
                one = set(access.deciders(train, gate).values_list("pk", flat=True))
                assert many.get((train.pk, gate), set()) == one, gate
                for user in map(_reload, everyone):
                    asked = any(
                        access.may_decide(user, r, train)
                        for r in train.approval_requirements.filter(gate=gate)
                    )
                    if user.is_active:
                        assert asked == (user.pk in one), (gate, user)
        transaction.set_rollback(True)


@pytest.mark.slow
@worlds(15)
def test_nobody_is_told_about_a_train_they_cannot_open(spec, manager):
    with transaction.atomic():
        users, trains = _build(spec, manager)
        for train in trains:
            for release in train.application_releases.all():
                services.release_remove(train=train, release=release, by=manager, reason="Moved")
            services.train_transition(train=fresh(train), name="cancel", by=manager, reason="Stop")
        for notification in Notification.objects.filter(train__in=trains).select_related(
            "recipient", "train"
        ):
            assert access.may(notification.recipient, access.VIEW, notification.train)
        keys = {
            (t.pk, target, phase, kind)
            for t in trains
            for target in ReminderTarget
            for phase in PhaseKind
            for kind in ReminderKind
        }
        for (train_id, *_), people in audience.of_reminders(keys=keys).items():
            train = ReleaseTrain.objects.get(pk=train_id)
            for user in type(manager).objects.filter(pk__in=people):
                assert access.may(user, access.VIEW, train), user
        transaction.set_rollback(True)


def test_a_qa_person_who_cannot_see_the_train_hears_nothing_of_its_deadlines(manager, qa):
    train = make_train(manager)  # QA and release engineers are granted view by default
    keys = [(train.pk, ReminderTarget.PHASE, PhaseKind.VERIFICATION, ReminderKind.DUE_SOON)]
    assert audience.of_reminders(keys=keys)[keys[0]] == {manager.pk, qa.pk}
    ReleaseTrainGroupObjectPermission.objects.filter(content_object=train).delete()
    assert audience.of_reminders(keys=keys)[keys[0]] == {manager.pk}


def test_an_escalation_reaches_the_executives_but_not_the_primary_manager_among_them(
    manager, executive
):
    """The primary manager is in the executives group the gate asks: the others hear of
    the overdue deadline, the manager does not (separation of duties)."""
    executives = Group.objects.get(name=roles.EXECUTIVES)
    manager.groups.add(executives)
    train = make_train(manager)
    services.requirement_add(train=train, by=manager, gate=Gate.EXECUTIVE, group=executives)
    key = (train.pk, ReminderTarget.PHASE, PhaseKind.VERIFICATION, ReminderKind.ESCALATION)
    assert audience.of_reminders(keys=[key])[key] == {executive.pk}
    assert set(access.deciders(train, Gate.EXECUTIVE)) == {executive}
