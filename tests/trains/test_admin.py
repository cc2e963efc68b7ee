import pytest
from django.urls import NoReverseMatch, reverse

from tests.factories import UserFactory, make_train, scope
from trains.models import ReleaseTrain

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, role_groups):
    admin = UserFactory(
        username="admin", is_staff=True, is_superuser=True, roles=["release_managers"]
    )
    client.force_login(admin)
    return client, admin


def test_admin_lists_and_shows_trains_with_history(admin_client, manager):
    client, _ = admin_client
    train = make_train(manager)
    assert client.get(reverse("admin:trains_releasetrain_changelist")).status_code == 200
    page = client.get(reverse("admin:trains_releasetrain_change", args=[train.pk]))
    assert page.status_code == 200
    assert b"submitted" in page.content
    assert client.get(reverse("admin:trains_trainevent_changelist")).status_code == 200


def test_history_is_read_only_in_the_admin(admin_client, manager):
    client, _ = admin_client
    event = make_train(manager).events.get()
    assert client.get(reverse("admin:trains_trainevent_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:trains_trainevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert client.get(reverse("admin:trains_releasetrain_add")).status_code == 403


def test_admin_action_moves_trains_through_the_service(admin_client, manager, owner, executive):
    client, _ = admin_client
    ready, unready = make_train(manager), make_train(manager)
    scope(ready, manager=manager, owner=owner)
    response = client.post(
        reverse("admin:trains_releasetrain_changelist"),
        {"action": "start_construction", "_selected_action": [ready.pk, unready.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert ReleaseTrain.objects.get(pk=ready.pk).state == "construction"
    assert ReleaseTrain.objects.get(pk=unready.pk).state == "scoping"
    assert b"no application release is on the train" in response.content


def test_admin_changes_no_rights_behind_the_history(admin_client, manager):
    """django-guardian's object-permission pages would grant without a history row: the
    admin has none, and points to the train's sharing, which records each grant."""
    client, _ = admin_client
    train = make_train(manager)
    base = reverse("admin:trains_releasetrain_change", args=[train.pk])
    assert client.get(base.replace("/change/", "/permissions/")).status_code in (302, 404)
    with pytest.raises(NoReverseMatch):
        reverse("admin:trains_releasetrain_permissions", args=[train.pk])
    page = client.get(base).content.decode()
    assert f'href="/trains/{train.pk}/#access"' in page
    assert "Object permissions" not in page
