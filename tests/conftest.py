import logging

import pytest

from releasemgr import roles
from tests import numbers
from tests.factories import UserFactory


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    if numbers.COUNTS:
        numbers.write()
        terminalreporter.write_sep("-", "hardening numbers")
        for key, value in sorted(numbers.COUNTS.items()):
            terminalreporter.write_line(f"{key}: {value}")


# django-axes logs every sign-in at INFO; a failing test's log should show what matters.
logging.getLogger("axes").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def role_groups(db):
    """The role groups come from a data migration; transactional tests flush them."""
    from django.contrib.auth.models import Group

    return [Group.objects.get_or_create(name=name)[0] for name in roles.ALL_ROLES]


@pytest.fixture
def manager(role_groups):
    return UserFactory(username="manager", roles=[roles.RELEASE_MANAGERS])


@pytest.fixture
def other_manager(role_groups):
    return UserFactory(username="other_manager", roles=[roles.RELEASE_MANAGERS])


@pytest.fixture
def owner(role_groups):
    return UserFactory(username="owner", roles=[roles.PRODUCT_OWNERS])


@pytest.fixture
def qa(role_groups):
    return UserFactory(username="qa", roles=[roles.QA])


@pytest.fixture
def executive(role_groups):
    return UserFactory(username="executive", roles=[roles.EXECUTIVES])


@pytest.fixture
def executive2(role_groups):
    return UserFactory(username="executive2", roles=[roles.EXECUTIVES])


@pytest.fixture
def engineer(role_groups):
    return UserFactory(username="engineer", roles=[roles.RELEASE_ENGINEERS])


@pytest.fixture
def stakeholder(role_groups):
    return UserFactory(username="stakeholder")


@pytest.fixture
def outsider(role_groups):
    return UserFactory(username="outsider")
