"""Property-based fuzzing (hypothesis): random and hostile values posted to every form
and API endpoint, and thrown at every query string a page reads.

For each case: no 5xx; when the input is refused, nothing in the database changed; and
no user-supplied markup comes back as markup. Every case runs in a transaction that is
rolled back, so all of them meet the same world (tests/security/world.py). The count of
cases tried is reported at the end of the run (tests/numbers.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from approvals.models import Gate
from tests import numbers
from tests.security.hostile import (
    choices,
    dates,
    found_markup,
    json_values,
    numbers_text,
    texts,
)
from tests.security.world import World
from trains.choices import PhaseKind, TrainState, TrainType
from trains.filters import Show

pytestmark = pytest.mark.slow

Fields = dict[str, Callable[[World], st.SearchStrategy]]

# Rows that change when merely read or signed in with, not through the input.
VOLATILE = {("ApiToken", "last_used_at"), ("User", "last_login")}
UNCOUNTED = {"Session", "AccessAttempt", "AccessLog", "AccessFailureLog"}


def snapshot() -> dict:
    """Every row of every table the app owns (the world is small)."""
    state = {}
    for model in apps.get_models():
        name = model.__name__
        if name in UNCOUNTED:
            continue
        fields = [f.attname for f in model._meta.concrete_fields if (name, f.name) not in VOLATILE]
        state[name] = list(model._default_manager.order_by("pk").values_list(*fields))
    return state


def changed(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


# Field strategies that need the world (ids of people and objects, ours and others').


def ids(world: World) -> st.SearchStrategy[str]:
    known = [u.pk for u in world.users.values()]
    for side in (world.own, world.other):
        known += [side.train.pk, side.criterion.pk, side.milestone.pk, side.turnover.pk]
        known += [side.dev.pk, side.exe.pk, *[r.pk for r in side.releases]]
    return st.one_of(st.sampled_from(known).map(str), numbers_text())


def id_lists(world):
    return st.lists(ids(world), max_size=3)


def text(n=200):
    return lambda w: texts(n)


def date_():
    return lambda w: dates()


def pick(values):
    return lambda w: choices(values)


def approver(world: World):
    people = [f"user:{u.pk}" for u in world.users.values()]
    return st.one_of(
        st.sampled_from(people + ["group:1", "group:999999", "user:", "group:abc"]),
        ids(world).map(lambda i: f"user:{i}"),
        texts(30),
    )


TRAIN_FORM: Fields = {
    "name": text(),
    "purpose": text(),
    "train_type": pick(TrainType.values),
    "primary_manager": ids,
    "start_date": date_(),
    "end_date": date_(),
    **{f"phase_{kind}": date_() for kind in PhaseKind.values},
    "release_engineers": id_lists,
}


@dataclass(frozen=True)
class Target:
    key: str
    persona: str
    url: Callable[[World], str]
    fields: Fields
    method: str = "POST"
    api: bool = False


def train_url(suffix=""):
    return lambda w: f"/trains/{w.own.train.pk}/{suffix}"


TARGETS = [
    # Pages with forms
    Target(
        "login", "anonymous", lambda w: "/accounts/login/", {"username": text(), "password": text()}
    ),
    Target("train_create", "manager", lambda w: "/trains/new/", TRAIN_FORM),
    Target("train_edit", "manager", train_url("edit/"), TRAIN_FORM),
    Target(
        "train_step cancel",
        "manager",
        train_url("cancel/"),
        {"reason": text(), "state": pick(TrainState.values)},
    ),
    Target(
        "train_deploy",
        "engineer",
        train_url("deploy/"),
        {"succeeded": pick(["0", "1"]), "log": text()},
    ),
    Target(
        "train_decide",
        "executive",
        train_url("decide/"),
        {
            "requirement": ids,
            "approve": pick(["0", "1"]),
            "comment": text(),
            "next": pick(["inbox", ""]),
        },
    ),
    Target(
        "criterion_add",
        "manager",
        train_url("criteria/"),
        {
            "phase": pick(PhaseKind.values),
            "description": text(),
            "required": pick(["on", ""]),
            "due_date": date_(),
        },
    ),
    Target(
        "criterion_check",
        "qa",
        lambda w: f"/trains/{w.own.train.pk}/criteria/{w.own.criterion.pk}/check/",
        {"met": pick(["0", "1"]), "state": pick(TrainState.values)},
    ),
    Target(
        "requirement_add",
        "manager",
        train_url("requirements/"),
        {
            "gate": pick(Gate.values),
            "approver": approver,
            "required_approvals": lambda w: numbers_text(),
        },
    ),
    Target("release_add", "manager", train_url("releases/"), {"release": ids}),
    Target(
        "release_remove",
        "manager",
        lambda w: f"/trains/{w.own.train.pk}/releases/{w.own.releases[1].pk}/remove/",
        {"reason": text()},
    ),
    Target(
        "milestone_add", "manager", train_url("milestones/"), {"name": text(), "due_date": date_()}
    ),
    Target(
        "access_grant",
        "manager",
        train_url("access/"),
        {"username": text(), "level": pick(["view", "manage"])},
    ),
    Target(
        "application_list",
        "owner",
        lambda w: "/applications/",
        {"name": text(), "description": text(), "product_owner": ids},
    ),
    Target(
        "application_detail",
        "owner",
        lambda w: f"/applications/{w.own.releases[0].application_id}/",
        {"version": text(80), "notes": text()},
    ),
    Target(
        "turnover_submit",
        "owner",
        lambda w: f"/applications/releases/{w.own.releases[1].pk}/turnover/",
        {"description": text()},
    ),
    Target(
        "turnover_decide reject",
        "engineer",
        lambda w: f"/applications/turnovers/{w.own.turnover.pk}/reject/",
        {"reason": text()},
    ),
    Target(
        "notifications:preferences",
        "manager",
        lambda w: "/notifications/",
        {
            k: pick(["email", "digest", "off"])
            for k in ("deadline", "approval", "update", "rejection")
        },
    ),
    Target("api:token_create", "manager", lambda w: "/profile/tokens/", {"name": text()}),
    Target(
        "api:webhook_list",
        "manager",
        lambda w: "/webhooks/",
        {
            "url": text(),
            "events": lambda w: st.lists(
                choices(["train.transitioned", "approval.decided"]), max_size=3
            ),
            "train": ids,
        },
    ),
    # Query strings of pages
    Target(
        "train_list filters",
        "manager",
        lambda w: "/trains/",
        {
            "q": text(),
            "state": lambda w: st.lists(choices(TrainState.values), max_size=3),
            "train_type": pick(TrainType.values),
            "manager": ids,
            "starts_after": date_(),
            "ends_before": date_(),
            "page": lambda w: numbers_text(),
            "show": pick(Show.values),
        },
        method="GET",
    ),
    Target(
        "calendar month",
        "manager",
        lambda w: "/calendar/",
        {
            "month": text(20),
            "train_type": pick(TrainType.values),
            "manager": ids,
            "show": pick(Show.values),
        },
        method="GET",
    ),
    Target(
        "history paging",
        "stakeholder",
        train_url("history/"),
        {"before": lambda w: numbers_text()},
        method="GET",
    ),
    Target("inbox tab", "executive", lambda w: "/approvals/", {"tab": text(20)}, method="GET"),
    Target(
        "trains export filters",
        "qa",
        lambda w: "/trains/export.csv",
        {
            "q": text(),
            "state": pick(TrainState.values),
            "starts_after": date_(),
            "manager": ids,
            "show": pick(Show.values),
        },
        method="GET",
    ),
    Target(
        "sent mail filters",
        "manager",
        lambda w: f"/notifications/sent/{w.own.train.pk}/",
        {"status": text(20), "page": lambda w: numbers_text()},
        method="GET",
    ),
    # REST API (JSON bodies, Bearer token)
    Target(
        "api:trains POST",
        "manager",
        lambda w: "/api/v1/trains/",
        {
            "name": text(),
            "purpose": text(),
            "type": pick(TrainType.values),
            "primary_manager": ids,
            "start_date": date_(),
            "end_date": date_(),
            "phase_ends": lambda w: st.dictionaries(choices(PhaseKind.values), dates(), max_size=4),
            "release_engineers": id_lists,
        },
        api=True,
    ),
    Target(
        "api:train PATCH",
        "manager",
        lambda w: f"/api/v1/trains/{w.own.train.pk}/",
        {
            "name": text(),
            "purpose": text(),
            "end_date": date_(),
            "phase_ends": lambda w: json_values(),
        },
        method="PATCH",
        api=True,
    ),
    Target(
        "api:train_transition",
        "manager",
        lambda w: f"/api/v1/trains/{w.own.train.pk}/transitions/cancel/",
        {"reason": text(), "expected_state": pick(TrainState.values)},
        api=True,
    ),
    Target(
        "api:criteria POST",
        "manager",
        lambda w: f"/api/v1/trains/{w.own.train.pk}/criteria/",
        {
            "phase": pick(PhaseKind.values),
            "description": text(),
            "required": lambda w: json_values(),
            "due_date": date_(),
        },
        api=True,
    ),
    Target(
        "api:requirements POST",
        "manager",
        lambda w: f"/api/v1/trains/{w.own.train.pk}/approval-requirements/",
        {
            "gate": pick(Gate.values),
            "user": ids,
            "group": ids,
            "required_approvals": lambda w: json_values(),
        },
        api=True,
    ),
    Target(
        "api:decisions",
        "executive",
        lambda w: f"/api/v1/trains/{w.own.train.pk}/decisions/",
        {"requirement": ids, "approve": lambda w: json_values(), "comment": text()},
        api=True,
    ),
    Target(
        "api:deployments",
        "engineer",
        lambda w: f"/api/v1/trains/{w.own.train.pk}/deployments/",
        {"succeeded": lambda w: json_values(), "log": text()},
        api=True,
    ),
    Target(
        "api:applications POST",
        "owner",
        lambda w: "/api/v1/applications/",
        {"name": text(), "description": text(), "product_owner": ids},
        api=True,
    ),
    Target(
        "api:releases POST",
        "manager",
        lambda w: "/api/v1/application-releases/",
        {"application": ids, "version": text(80), "notes": text(), "train": ids},
        api=True,
    ),
    Target(
        "api:turnovers POST",
        "owner",
        lambda w: "/api/v1/turnovers/",
        {"release": ids, "description": text()},
        api=True,
    ),
    Target(
        "api:turnover_reject",
        "engineer",
        lambda w: f"/api/v1/turnovers/{w.own.turnover.pk}/reject/",
        {"reason": text()},
        api=True,
    ),
    Target(
        "api:milestones POST",
        "manager",
        lambda w: f"/api/v1/trains/{w.own.train.pk}/milestones/",
        {"name": text(), "due_date": date_()},
        api=True,
    ),
    Target(
        "api:train_access POST",
        "manager",
        lambda w: f"/api/v1/trains/{w.own.train.pk}/access/",
        {"username": text(), "level": pick(["view", "manage"])},
        api=True,
    ),
    Target(
        "api:train_releases POST",
        "manager",
        lambda w: f"/api/v1/trains/{w.own.train.pk}/releases/",
        {"release": ids},
        api=True,
    ),
    Target(
        "api:train_release_remove",
        "manager",
        lambda w: f"/api/v1/trains/{w.own.train.pk}/releases/{w.own.releases[1].pk}/remove/",
        {"reason": text()},
        api=True,
    ),
    Target(
        "api:webhooks POST",
        "manager",
        lambda w: "/api/v1/webhooks/",
        {
            "url": text(),
            "events": lambda w: st.lists(
                choices(["train.transitioned", "approval.decided"]), max_size=3
            ),
            "train": ids,
        },
        api=True,
    ),
    Target(
        "api:webhook PATCH",
        "manager",
        lambda w: f"/api/v1/webhooks/{w.webhooks['own'].pk}/",
        {"active": lambda w: json_values()},
        method="PATCH",
        api=True,
    ),
    Target(
        "api:notification_preferences PATCH",
        "qa",
        lambda w: "/api/v1/notification-preferences/",
        {"deadline": text(20), "update": pick(["email", "digest", "off"])},
        method="PATCH",
        api=True,
    ),
    Target(
        "api:trains filters",
        "qa",
        lambda w: "/api/v1/trains/",
        {
            "state": text(30),
            "type": text(20),
            "q": text(),
            "manager": ids,
            "page": lambda w: numbers_text(),
            "page_size": lambda w: numbers_text(),
        },
        method="GET",
        api=True,
    ),
    Target(
        "api:releases filters",
        "owner",
        lambda w: "/api/v1/application-releases/",
        {"train": ids, "application": ids, "state": text(30)},
        method="GET",
        api=True,
    ),
]

REFUSED_MARKERS = ("alert-danger", "is-invalid", "invalid-feedback", "errorlist", "Too many failed")


def _payload(world: World, target: Target, data) -> dict:
    strategy = st.fixed_dictionaries(
        {}, optional={name: make(world) for name, make in target.fields.items()}
    )
    payload = data.draw(strategy, label="fields")
    extra = data.draw(
        st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=2), label="extra"
    )
    payload.update({k: v for k, v in extra.items() if k not in payload})
    return payload


def _send(client: Client, target: Target, url: str, payload, token: str | None, data):
    method = target.method.lower()
    if target.api:
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        if target.method == "GET":
            return client.get(url, _flatten(payload), **auth)
        raw = data.draw(st.booleans(), label="malformed json")
        body = (
            data.draw(st.binary(max_size=50))
            if raw and data.draw(st.booleans())
            else json.dumps(payload)
        )
        return getattr(client, method)(url, body, content_type="application/json", **auth)
    if target.method == "GET":
        return client.get(url, _flatten(payload))
    return getattr(client, method)(url, _flatten(payload), follow=True)


def _flatten(payload: dict) -> dict:
    """Form and query values are strings or lists of strings."""
    return {
        k: [str(i) for i in v]
        if isinstance(v, list)
        else json.dumps(v)
        if isinstance(v, dict)
        else str(v)
        for k, v in payload.items()
    }


def _refused(target: Target, response) -> bool:
    if response.status_code >= 400:
        return True
    if target.api:
        return False
    body = response.content.decode(errors="replace")
    return any(marker in body for marker in REFUSED_MARKERS)


@pytest.fixture
def no_dns(monkeypatch):
    """Webhook URLs are resolved to check they are public; the fuzz must not ask DNS."""
    import socket

    from api import webhooks

    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", resolve)


@pytest.mark.parametrize("target", TARGETS, ids=[t.key for t in TARGETS])
def test_hostile_input_is_refused_cleanly_or_saved_escaped(target, world, clients, no_dns):
    @given(data=st.data())
    def case(data):
        url = target.url(world)
        client = Client(raise_request_exception=False) if target.api else clients[target.persona]
        token = world.tokens[target.persona][1] if target.api else None
        with transaction.atomic():
            before = snapshot()
            payload = _payload(world, target, data)
            response = _send(client, target, url, payload, token, data)
            after = snapshot()
            transaction.set_rollback(True)
        numbers.add(f"hypothesis cases tried on {connection.vendor}")
        assert response.status_code < 500, (payload, response.content[:500])
        if target.method != "GET" and _refused(target, response):
            assert not changed(before, after), (payload, changed(before, after))
        if target.method == "GET":
            assert not changed(before, after), (payload, changed(before, after))
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/html"):
            assert not found_markup(response.content.decode(errors="replace")), payload

    case()
