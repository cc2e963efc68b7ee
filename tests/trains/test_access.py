"""Who sees which train: the 404 helper and the visibility rules."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import Http404

from releasemgr import roles
from tests.factories import ReleaseFactory, UserFactory, make_train
from trains import services
from trains.access import get_train_for_user, trains_visible_to

pytestmark = pytest.mark.django_db


def test_outsider_gets_404(manager, outsider):
    train = make_train(manager)
    with pytest.raises(Http404):
        get_train_for_user(outsider, train.pk)


def test_missing_or_malformed_id_is_404(manager):
    with pytest.raises(Http404):
        get_train_for_user(manager, 999999)
    with pytest.raises(Http404):
        get_train_for_user(manager, "abc")


def test_anonymous_sees_nothing(manager):
    from django.contrib.auth.models import AnonymousUser

    make_train(manager)
    assert not trains_visible_to(AnonymousUser()).exists()


def test_stakeholder_sees_only_shared_trains(manager, stakeholder):
    shared, private = make_train(manager), make_train(manager)
    services.train_grant(train=shared, by=manager, user=stakeholder)
    assert list(trains_visible_to(stakeholder)) == [shared]
    assert get_train_for_user(stakeholder, shared.pk) == shared
    with pytest.raises(Http404):
        get_train_for_user(stakeholder, private.pk)
    with pytest.raises(PermissionDenied):
        get_train_for_user(stakeholder, shared.pk, need="manage")


def test_revoked_stakeholder_loses_the_train(manager, stakeholder):
    train = make_train(manager)
    services.train_grant(train=train, by=manager, user=stakeholder)
    services.train_revoke(train=train, by=manager, user=stakeholder)
    assert not trains_visible_to(stakeholder).exists()
    assert train.events.filter(kind="access").count() == 2


def test_another_release_manager_cannot_see_or_manage(manager, other_manager):
    train = make_train(manager)
    with pytest.raises(Http404):
        get_train_for_user(other_manager, train.pk, need="manage")
    services.train_grant(train=train, by=manager, user=other_manager)
    with pytest.raises(PermissionDenied):
        get_train_for_user(other_manager, train.pk, need="manage")
    services.train_grant(train=train, by=manager, user=other_manager, level="manage")
    assert get_train_for_user(other_manager, train.pk, need="manage") == train


def test_roles_see_trains_they_take_part_in(manager, owner, executive, qa, engineer):
    train = make_train(manager)
    other = make_train(manager, viewer_groups=())
    release = ReleaseFactory(application__product_owner=owner)
    services.release_add(train=train, release=release, by=manager)
    services.requirement_add(
        train=train, by=manager, gate="executive", group=Group.objects.get(name=roles.EXECUTIVES)
    )
    for person in (owner, executive, qa, engineer):
        assert list(trains_visible_to(person)) == [train], person
    assert set(trains_visible_to(manager)) == {train, other}


def test_visibility_has_no_duplicate_rows(manager, owner):
    train = make_train(manager)
    for _ in range(3):
        services.release_add(
            train=train, release=ReleaseFactory(application__product_owner=owner), by=manager
        )
    assert trains_visible_to(owner).count() == 1


def test_superuser_sees_all(manager):
    make_train(manager)
    admin = UserFactory(username="root", is_superuser=True)
    assert trains_visible_to(admin).count() == 1


def test_only_managers_share_a_train(manager, stakeholder, outsider):
    train = make_train(manager)
    from releasemgr.exceptions import NotAllowed

    services.train_grant(train=train, by=manager, user=stakeholder)
    with pytest.raises(NotAllowed):
        services.train_grant(train=train, by=stakeholder, user=outsider)
