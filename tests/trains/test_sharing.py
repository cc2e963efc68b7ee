"""Sharing a train from its page: a refusal appears beside the user name field and keeps
what was typed, with and without htmx; a share or a revoke refreshes the panel."""

import re

import pytest
from guardian.shortcuts import get_perms

from tests.factories import make_train

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def train(manager):
    return make_train(manager)


def share(client, train, username, level="view", **headers):
    return client.post(
        f"/trains/{train.pk}/access/",
        {"username": username, "level": level, "state": train.state},
        **headers,
    )


def access_panel(html: str) -> str:
    return re.search(r'<section id="access".*?</section>', html, re.S).group(0)


def field_error(panel: str) -> str:
    return re.search(
        r'<div class="invalid-feedback" id="grant-user-error">(.*?)</div>', panel
    ).group(1)


def test_an_unknown_user_name_is_refused_beside_the_field_keeping_it(client, manager, train):
    client.force_login(manager)
    response = share(client, train, "nobdy", level="manage")
    assert response.status_code == 200
    panel = access_panel(response.content.decode())
    assert field_error(panel) == "No active user has that user name."
    assert re.search(
        r'<input class="form-control is-invalid" name="username"[^>]*value="nobdy"', panel
    )
    assert 'aria-describedby="grant-user-error"' in panel
    assert '<option value="manage" selected>' in panel
    # The form brings a page without JavaScript back to itself.
    assert f'action="/trains/{train.pk}/access/#access"' in panel


def test_with_htmx_the_refusal_comes_back_as_the_panel_alone(client, manager, train):
    client.force_login(manager)
    response = share(client, train, "nobdy", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert field_error(access_panel(html)) == "No active user has that user name."
    assert 'value="nobdy"' in html
    assert 'id="messages" hx-swap-oob="true"' in html  # the old messages are cleared


def test_a_refusal_of_the_service_appears_beside_the_field_too(client, manager, stakeholder, train):
    client.force_login(manager)
    response = share(client, train, "stakeholder", level="manage", **HTMX)
    panel = access_panel(response.content.decode())
    assert field_error(panel) == "Only release managers can be granted manage."
    assert 'value="stakeholder"' in panel
    assert get_perms(stakeholder, train) == []


def test_sharing_with_htmx_refreshes_the_panel_with_an_empty_field(
    client, manager, stakeholder, train
):
    stakeholder.first_name, stakeholder.last_name = "Sam", "Stakeholder"
    stakeholder.save()
    client.force_login(manager)
    response = share(client, train, " Stakeholder ", **HTMX)
    html = response.content.decode()
    panel = access_panel(html)
    assert "Sam Stakeholder" in panel
    assert "is-invalid" not in panel
    assert 'value=""' in panel
    assert "Sam Stakeholder may now view this train." in html
    assert "view_releasetrain" in get_perms(stakeholder, train)


def test_sharing_without_htmx_returns_to_the_panel(client, manager, stakeholder, train):
    client.force_login(manager)
    response = share(client, train, "stakeholder")
    assert response.status_code == 302
    assert response["Location"] == f"/trains/{train.pk}/#access"


def test_revoking_with_htmx_refreshes_the_panel(client, manager, stakeholder, train):
    client.force_login(manager)
    share(client, train, "stakeholder")
    response = client.post(
        f"/trains/{train.pk}/access/{stakeholder.pk}/revoke/", {"state": train.state}, **HTMX
    )
    html = response.content.decode()
    assert "(stakeholder)</small>" not in access_panel(html)
    assert "stakeholder no longer sees this train." in html
    assert get_perms(stakeholder, train) == []


def test_only_the_trains_managers_may_share(client, manager, stakeholder, outsider, train):
    client.force_login(manager)
    share(client, train, "stakeholder")
    client.force_login(stakeholder)
    assert share(client, train, "outsider").status_code == 403
    client.force_login(outsider)
    assert share(client, train, "outsider").status_code == 404
    assert get_perms(outsider, train) == []
