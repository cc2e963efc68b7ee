"""The auth backend reads the user's groups with the user: one query a request."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from approvals.models import ApprovalDecision, ApprovalRequirement, Gate
from releasemgr import roles
from releasemgr.auth import ModelBackend
from tests.factories import make_train

pytestmark = pytest.mark.django_db


def test_get_user_reads_groups_in_the_same_query(manager, django_assert_num_queries, role_groups):
    extra = Group.objects.create(name='release, "board" : nightly')
    manager.groups.add(extra, Group.objects.get(name=roles.EXECUTIVES))
    ModelBackend().get_user(manager.pk)  # SQLite checks its JSON support once a connection
    with django_assert_num_queries(1):
        user = ModelBackend().get_user(manager.pk)
        assert roles.user_roles(user) == {roles.RELEASE_MANAGERS, roles.EXECUTIVES}
        assert extra.pk in roles.group_ids(user)
    assert user.pk == manager.pk


def test_a_user_without_groups_has_no_roles(outsider, django_assert_num_queries):
    ModelBackend().get_user(outsider.pk)
    with django_assert_num_queries(1):
        user = ModelBackend().get_user(outsider.pk)
        assert roles.user_roles(user) == frozenset()
        assert roles.group_ids(user) == frozenset()


def test_inactive_or_missing_users_are_not_signed_in(manager):
    manager.is_active = False
    manager.save()
    assert ModelBackend().get_user(manager.pk) is None
    assert ModelBackend().get_user(manager.pk + 1000) is None


def test_pages_see_the_roles_read_by_the_backend(client, manager):
    client.force_login(manager)
    response = client.get("/trains/")
    assert response.status_code == 200
    assert "New train" in response.content.decode()  # the release manager's menu item


@pytest.mark.parametrize("session_id", ["", "abc", "1 OR 1=1", "9" * 30, None])
def test_a_session_id_that_is_no_user_id_signs_no_one_in(manager, session_id):
    assert ModelBackend().get_user(session_id) is None


def test_whether_the_user_may_have_an_inbox_is_a_bool(manager, outsider):
    assert ModelBackend().get_user(outsider.pk).may_have_inbox is False
    ApprovalRequirement.objects.create(
        train=make_train(manager), gate=Gate.EXECUTIVE, user=outsider
    )
    assert ModelBackend().get_user(outsider.pk).may_have_inbox is True


def test_an_inbox_may_come_by_name_through_a_group_or_from_a_decision_made(manager, outsider):
    train = make_train(manager)
    board = Group.objects.create(name="change board")
    ApprovalRequirement.objects.create(train=train, gate=Gate.EXECUTIVE, group=board)
    assert ModelBackend().get_user(outsider.pk).may_have_inbox is False  # not in the group
    outsider.groups.add(board)
    assert ModelBackend().get_user(outsider.pk).may_have_inbox is True
    outsider.groups.remove(board)
    assert ModelBackend().get_user(outsider.pk).may_have_inbox is False
    named = ApprovalRequirement.objects.create(train=train, gate=Gate.DEVELOPMENT, user=manager)
    ApprovalDecision.objects.create(
        requirement=named, round=1, user=outsider, approve=True, requested_at=timezone.now()
    )
    assert ModelBackend().get_user(outsider.pk).may_have_inbox is True  # decided before
    assert ModelBackend().get_user(manager.pk).may_have_inbox is True  # named by name
