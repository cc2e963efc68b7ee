"""Ids no row can have, posted to every form, query string and API field that takes an
id (the fuzz targets' id fields): a form error or a 4xx with the reason, never a 500,
and nothing saved. Not slow, so the fast loop on SQLite runs it: SQLite cannot bind an
integer beyond 64 bits, so that is where a missed field shows (releasemgr.ids)."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.test import Client

from releasemgr.ids import INVALID_ID
from tests.security.hostile import HUGE_IDS
from tests.security.test_fuzz import (
    TARGETS,
    Target,
    _flatten,
    _refused,
    approver,
    changed,
    id_lists,
    ids,
    snapshot,
)

# Each target's fields that take an id, and the value a huge id becomes there.
ID_FIELDS = [
    (target, name, {ids: lambda v: v, id_lists: lambda v: [v], approver: "user:{}".format}[make])
    for target in TARGETS
    for name, make in target.fields.items()
    if make in (ids, id_lists, approver)
]
# Fields that name an object by something other than its id: not checked here.
NOT_IDS = {("api:requirements POST", "group")}  # a group's name


def _send(client: Client, target: Target, url: str, payload: dict, token: str | None):
    if target.api:
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        if target.method == "GET":
            return client.get(url, _flatten(payload), **auth)
        return getattr(client, target.method.lower())(
            url, json.dumps(payload), content_type="application/json", **auth
        )
    if target.method == "GET":
        return client.get(url, _flatten(payload))
    return getattr(client, target.method.lower())(url, _flatten(payload), follow=True)


@pytest.mark.parametrize(
    "target,field,shape",
    [f for f in ID_FIELDS if (f[0].key, f[1]) not in NOT_IDS],
    ids=[f"{t.key}-{n}" for t, n, _ in ID_FIELDS if (t.key, n) not in NOT_IDS],
)
@pytest.mark.parametrize(
    "huge",
    HUGE_IDS,
    ids=["20 digits", "minus 20 digits", "2**63", "0", "superscript 2", "5000 digits"],
)
def test_an_id_no_row_can_have_is_refused_with_a_reason(world, clients, target, field, shape, huge):
    client = Client(raise_request_exception=False) if target.api else clients[target.persona]
    token = world.tokens[target.persona][1] if target.api else None
    with transaction.atomic():
        before = snapshot()
        response = _send(client, target, target.url(world), {field: shape(huge)}, token)
        after = snapshot()
        transaction.set_rollback(True)
    assert response.status_code < 500, response.content[:300]
    assert not changed(before, after)
    if target.method == "GET" and not target.api:
        return  # a page's query string: the filters' form shows the error, if it shows one
    assert _refused(target, response), response.content[:300]
    if target.api:
        assert response.status_code == 400
        assert INVALID_ID in json.dumps(response.json()), response.json()
