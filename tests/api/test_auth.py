"""Personal API tokens: Bearer header, only a hash stored, revocation, and the session."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api import services as api_services
from api.models import ApiToken
from tests.factories import make_train

pytestmark = pytest.mark.django_db


def test_token_authenticates_as_its_user(api_as, manager):
    train = make_train(manager)
    response = api_as(manager).get("/api/v1/trains/")
    assert response.status_code == 200
    assert [t["id"] for t in response.json()["results"]] == [train.pk]


def test_only_a_hash_of_the_token_is_stored(manager):
    token, raw = api_services.token_create(user=manager, name="CI")
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw.startswith("rm_") and len(raw) > 40
    assert raw not in {stored.key_hash, stored.prefix, stored.name}
    assert stored.key_hash == api_services.token_hash(raw)
    assert raw.startswith(stored.prefix)


def test_no_credentials_is_401_with_a_bearer_challenge(db):
    response = APIClient().get("/api/v1/trains/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer rm_nope", "Bearer a b", "Bearer \u00e9\u00e9", "Bearer " + "x" * 5000],
)
def test_bad_tokens_are_401(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/v1/trains/").status_code == 401


def test_revoked_token_stops_working(api_as, manager):
    api = api_as(manager)
    assert api.get("/api/v1/trains/").status_code == 200
    token = ApiToken.objects.get(user=manager)
    api_services.token_revoke(token=token, by=manager)
    assert api.get("/api/v1/trains/").status_code == 401


def test_token_of_inactive_user_is_refused(api_as, manager):
    api = api_as(manager)
    manager.is_active = False
    manager.save()
    assert api.get("/api/v1/trains/").status_code == 401


def test_use_is_recorded_at_most_every_few_minutes(api_as, manager):
    api = api_as(manager)
    api.get("/api/v1/trains/")
    first = ApiToken.objects.get(user=manager).last_used_at
    assert first is not None
    api.get("/api/v1/trains/")
    assert ApiToken.objects.get(user=manager).last_used_at == first


def test_session_works_for_the_browser_and_needs_csrf_to_write(client, manager):
    client.force_login(manager)
    assert client.get("/api/v1/trains/").status_code == 200
    csrf_client = APIClient(enforce_csrf_checks=True)
    csrf_client.force_login(manager)
    response = csrf_client.post("/api/v1/applications/", {"name": "X"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_someone_else_cannot_revoke_my_token(manager, other_manager):
    token, _ = api_services.token_create(user=manager, name="CI")
    from releasemgr.exceptions import NotAllowed

    with pytest.raises(NotAllowed):
        api_services.token_revoke(token=token, by=other_manager)
    token.refresh_from_db()
    assert token.revoked_at is None
    assert token.created_at <= timezone.now()
