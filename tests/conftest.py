import pytest

from releasemgr import roles
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", roles=[roles.RELEASE_MANAGERS])


@pytest.fixture
def other_manager(db):
    return UserFactory(username="other_manager", roles=[roles.RELEASE_MANAGERS])


@pytest.fixture
def owner(db):
    return UserFactory(username="owner", roles=[roles.PRODUCT_OWNERS])


@pytest.fixture
def qa(db):
    return UserFactory(username="qa", roles=[roles.QA])


@pytest.fixture
def executive(db):
    return UserFactory(username="executive", roles=[roles.EXECUTIVES])


@pytest.fixture
def executive2(db):
    return UserFactory(username="executive2", roles=[roles.EXECUTIVES])


@pytest.fixture
def engineer(db):
    return UserFactory(username="engineer", roles=[roles.RELEASE_ENGINEERS])


@pytest.fixture
def stakeholder(db):
    return UserFactory(username="stakeholder")


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")
