"""The Content-Security-Policy header: present on pages, errors and sign-in, and it
allows no inline script or style."""

from __future__ import annotations

import pytest

from tests.factories import make_train

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {parts[0]: parts[1:] for parts in (d.split() for d in header.split(";") if d.strip())}


def test_every_kind_of_response_carries_a_strict_policy(client, manager, outsider):
    train = make_train(manager)
    responses = [client.get("/accounts/login/")]
    client.force_login(manager)
    responses += [
        client.get("/trains/"),
        client.get(f"/trains/{train.pk}/"),
        client.get(f"/trains/{train.pk}/history/?before=999999", HTTP_HX_REQUEST="true"),
    ]
    client.force_login(outsider)
    responses += [client.get(f"/trains/{train.pk}/"), client.get("/trains/new/")]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 404, 403]
    for response in responses:
        policy = _policy(response)
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["style-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        header = response["Content-Security-Policy"]
        assert "unsafe-inline" not in header and "unsafe-eval" not in header


def test_htmx_keeps_working_without_inline_styles_or_eval(client, manager):
    client.force_login(manager)
    html = client.get("/trains/").content.decode()
    # htmx 2 would inject an indicator <style> and may eval; both are configured off.
    assert '"includeIndicatorStyles": false' in html
    assert '"allowEval": false' in html
