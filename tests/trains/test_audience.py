"""`users_who_can_view` (who hears that a train closed) agrees with `can_view`."""

import pytest
from django.contrib.auth import get_user_model

from tests.factories import UserFactory, drive, make_train
from trains import access, services

pytestmark = pytest.mark.django_db


def test_the_audience_of_a_train_is_exactly_who_can_view_it(
    manager, other_manager, owner, qa, executive, engineer, stakeholder, outsider
):
    train, *_ = drive(
        make_train(manager),
        "verification",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    services.train_grant(train=train, by=manager, user=stakeholder)
    services.train_grant(train=train, by=manager, user=other_manager, level="manage")
    UserFactory(username="root", is_superuser=True)
    UserFactory(username="gone", is_active=False, roles=["qa"])
    audience = set(access.users_who_can_view(train).values_list("username", flat=True))
    assert audience == {
        "manager",
        "other_manager",
        "owner",
        "qa",
        "executive",
        "engineer",
        "stakeholder",
    }
    for user in get_user_model().objects.filter(is_active=True, is_superuser=False):
        assert (user.username in audience) == access.can_view(user, train), user


def test_trains_managed_by_agrees_with_can_manage(manager, other_manager, owner):
    mine, shared, theirs = make_train(manager), make_train(other_manager), make_train(other_manager)
    services.train_grant(train=shared, by=other_manager, user=manager, level="manage")
    assert set(access.trains_managed_by(manager)) == {mine, shared}
    assert all(
        access.can_manage(manager, t) == (t in {mine, shared}) for t in (mine, shared, theirs)
    )
    assert not access.trains_managed_by(owner).exists()


def test_view_pairs_for_many_trains_agree_with_users_who_can_view(
    manager, other_manager, owner, qa, executive, engineer, stakeholder
):
    crew = {"owner": owner, "qa": qa, "executive": executive, "engineer": engineer}
    first, *_ = drive(make_train(manager), "verification", manager=manager, **crew)
    second, *_ = drive(make_train(other_manager), "construction", manager=other_manager, **crew)
    services.train_grant(train=first, by=manager, user=stakeholder)
    services.train_update(
        train=second, by=other_manager, phase_ends={}, release_engineers=[engineer]
    )
    UserFactory(username="gone", is_active=False, roles=["qa"])
    everyone = get_user_model().objects.values_list("pk", flat=True)
    pairs = set(access.pairs([first.pk, second.pk], access.VIEW, among=everyone))
    for train in (first, second):
        expected = set(access.users_who_can_view(train).values_list("pk", flat=True))
        assert {u for t, u in pairs if t == train.pk} == expected
    # `among` keeps only those people
    assert set(access.pairs([first.pk], access.VIEW, among=[qa.pk, stakeholder.pk])) == {
        (first.pk, qa.pk),
        (first.pk, stakeholder.pk),
    }
