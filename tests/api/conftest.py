import pytest
from rest_framework.test import APIClient

from api import services as api_services


class Api:
    """An HTTP client that acts as one person through a personal API token."""

    def __init__(self, user, token: str) -> None:
        self.user = user
        self.token = token
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path, **params):
        return self.client.get(path, params)

    def post(self, path, data=None):
        return self.client.post(path, data if data is not None else {}, format="json")

    def patch(self, path, data):
        return self.client.patch(path, data, format="json")

    def delete(self, path):
        return self.client.delete(path)


@pytest.fixture
def api_as(db):
    """api_as(user) -> an Api client with a fresh token of that user."""

    def make(user):
        _, raw = api_services.token_create(user=user, name="tests")
        return Api(user, raw)

    return make


@pytest.fixture
def webhook_settings(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_TIMEOUT = 5
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return settings


@pytest.fixture
def superuser(role_groups):
    from tests.factories import UserFactory

    return UserFactory(username="admin", is_superuser=True, is_staff=True)
