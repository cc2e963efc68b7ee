"""The access matrix: every URL pattern x each demo persona x own train / other train /
anonymous, against the status it must answer.

The patterns come from the URL resolver, so a new page is in the matrix the moment it is
routed -- and fails `test_every_url_pattern_has_a_rule` until it is given a rule below.
Besides the status, every page a persona may open is searched for the other train's
details (no leak), every state-changing URL must refuse GET, and (in a separate test)
must refuse a POST without a CSRF token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests import numbers
from tests.security.world import OWN_NAME, PERSONAS, SECRETS, World

pytestmark = pytest.mark.slow

ANON = "anonymous"
WHO = (*PERSONAS, ANON)
VIEWERS = frozenset(PERSONAS) - {"outsider"}
SCOPED = ("own", "other")
UNSCOPED = ("-",)

# Expected statuses ---------------------------------------------------------------------


def sees(p: str, s: str) -> bool:
    return s == "own" and p in VIEWERS


def page(p, s):  # a page of a train: 404 unless visible
    return 302 if p == ANON else 200 if sees(p, s) else 404


def manage_page(p, s):
    return 302 if p == ANON else 404 if not sees(p, s) else 200 if p == "manager" else 403


def act(p, s):  # an action anyone who sees the train may try; refusals come as messages
    return 302 if p == ANON else 302 if sees(p, s) else 404


def manage_act(p, s):
    return 302 if p == ANON else 404 if not sees(p, s) else 302 if p == "manager" else 403


def deploy_act(p, s):
    if p == ANON:
        return 302
    return 404 if not sees(p, s) else 302 if p in ("manager", "engineer") else 403


def everyone(code, anon=302):
    return lambda p, s: anon if p == ANON else code


def only(people, code, anon=302, others=403):
    return lambda p, s: anon if p == ANON else code if p in people else others


def app_object(code):
    """Applications: release managers and engineers see all, product owners their own."""

    def expect(p, s):
        if p == ANON:
            return 302
        if p in ("manager", "engineer") or (p == "owner" and s == "own"):
            return code
        return 404 if p == "owner" else 403

    return expect


def release_object(code):
    """A release found through the applications the persona sees (404 otherwise)."""

    def expect(p, s):
        if p == ANON:
            return 302
        visible = p in ("manager", "engineer") or (p == "owner" and s == "own")
        return code if visible else 404

    return expect


def webhook(code):
    def expect(p, s):
        return 302 if p == ANON else 403 if p != "manager" else code if s == "own" else 404

    return expect


# Pages of no one train: templates, schedules, freeze windows, metrics.

PLANNERS = {"manager"}  # access.may_create_trains: release managers, as a team
KEEPERS = {"manager"}  # access.may_keep_freezes: staff and release managers
METRICS = {"manager", "executive"}  # access.may_see_metrics


def template(w, p, s):
    return {"pk": w.template.pk}


def schedule(w, p, s):
    return {"pk": w.schedule.pk}


def freeze(w, p, s):
    return {"pk": w.freeze.pk}


def link(w, p, s):
    """The signed link is the credential: "own" is one naming the persona's train's
    executive approver (anonymous holds it too, as whoever clicks it in a mail);
    "other" one naming the other train's approver."""
    return {"token": w.links["executive" if s == "own" else "other_exec"]}


def decision_link(p, s):
    """Only the link's approver, or someone not signed in, gets past "someone else": the
    world's trains are in verification, so the link's round has moved on (409)."""
    if s == "own" and p in ("executive", ANON):
        return 409
    return 409 if p == ANON else 403


# The API answers with a personal token; without one, 401.


def api(code_for: Callable[[str, str], int]):
    return lambda p, s: 401 if p == ANON else code_for(p, s)


def api_seen(code, others=None):
    """404 unless the train is visible; `code` for the visible, or per persona."""

    def expect(p, s):
        if not sees(p, s):
            return 404
        if others is not None and p not in others[0]:
            return others[1]
        return code

    return api(expect)


def api_webhook(code):
    """A release manager's own webhooks; someone else's are 404, other roles 403."""
    return api(lambda p, s: 403 if p != "manager" else code if s == "own" else 404)


# Rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    method: str
    expect: Callable[[str, str], int]
    kwargs: Callable[[World, str, str], dict] = lambda w, p, s: {}
    scopes: tuple = UNSCOPED
    query: str = ""
    data: dict = field(default_factory=dict)
    api: bool = False  # Bearer token, JSON body
    reader: Callable[[str], str] = lambda p: p  # whose data the answer may show

    @property
    def changes_state(self) -> bool:
        return self.method == "POST"


def train(w, p, s):
    return {"pk": w.side(s).train.pk}


def on_train(name, attr):
    def kwargs(w, p, s):
        side = w.side(s)
        obj = getattr(side, attr)
        return {"pk": side.train.pk, name: obj.pk}

    return kwargs


def obj(attr, **extra):
    def kwargs(w, p, s):
        return {"pk": getattr(w.side(s), attr).pk, **extra}

    return kwargs


def last_deployment(w, p, s):
    train = w.side(s).train
    return {"pk": train.pk, "deployment_pk": train.deployments.order_by("-id").first().pk}


def release(index=0, **extra):
    return lambda w, p, s: {"pk": w.side(s).releases[index].pk, **extra}


def application(w, p, s):
    return {"pk": w.side(s).releases[0].application_id}


def own_token(w, p, s):
    if s == "own" and p != ANON:
        return {"pk": w.tokens[p][0].pk}
    return {"pk": w.tokens["other_manager"][0].pk}


def feed(w, p, s):
    if s == "own":
        return {"token": w.feeds["manager" if p == ANON else p]}
    return {"token": "no-such-feed-token"}


def feed_owner(p):
    return "manager" if p == ANON else p


def hook(w, p, s):
    return {"pk": w.webhooks[s].pk}


def delivery(w, p, s):
    return {"pk": w.deliveries[s].pk}


S = SCOPED
RULES: dict[str, list[Rule]] = {
    # Root, sign-in
    "": [Rule("GET", everyone(302))],
    "login": [Rule("GET", everyone(200, anon=200)), Rule("POST", everyone(200, anon=200))],
    "logout": [Rule("POST", everyone(302))],
    "favicon": [Rule("GET", everyone(200, anon=200))],
    # An empty form comes back with its errors; done is a page.
    "password_change": [Rule("GET", everyone(200)), Rule("POST", everyone(200))],
    "password_change_done": [Rule("GET", everyone(200))],
    # Trains
    "train_list": [Rule("GET", everyone(200))],
    "train_create": [Rule("GET", only({"manager"}, 200)), Rule("POST", only({"manager"}, 200))],
    "train_detail": [Rule("GET", page, train, S)],
    "train_edit": [Rule("GET", manage_page, train, S), Rule("POST", manage_page, train, S)],
    "train_history": [Rule("GET", page, train, S, query="?before=999999999")],
    "deployment_log": [Rule("GET", page, last_deployment, S)],
    "train_deploy": [Rule("POST", deploy_act, train, S)],
    "train_decide": [Rule("POST", act, train, S)],
    "criterion_add": [Rule("POST", manage_act, train, S)],
    "criterion_check": [Rule("POST", act, on_train("criterion_pk", "criterion"), S)],
    "criterion_remove": [Rule("POST", manage_act, on_train("criterion_pk", "criterion"), S)],
    "criterion_required": [Rule("POST", manage_act, on_train("criterion_pk", "criterion"), S)],
    "requirement_add": [Rule("POST", manage_act, train, S)],
    "requirement_remove": [Rule("POST", manage_act, on_train("requirement_pk", "dev"), S)],
    "release_add": [Rule("POST", manage_act, train, S)],
    "release_remove": [
        Rule(
            "POST",
            manage_act,
            lambda w, p, s: {"pk": w.side(s).train.pk, "release_pk": w.side(s).releases[1].pk},
            S,
        )
    ],
    "milestone_add": [Rule("POST", manage_act, train, S)],
    # Re-planning: a form with its errors; baselines readable by all who see the train.
    "train_plan": [Rule("GET", manage_page, train, S), Rule("POST", manage_page, train, S)],
    "train_baselines": [Rule("GET", page, train, S), Rule("POST", manage_act, train, S)],
    "health_override": [Rule("POST", manage_act, train, S)],
    "health_clear": [Rule("POST", manage_act, train, S)],
    "milestone_reach": [Rule("POST", manage_act, on_train("milestone_pk", "milestone"), S)],
    # No user name given: the form comes back with the reason beside the field.
    "access_grant": [Rule("POST", manage_page, train, S)],
    "access_revoke": [Rule("POST", manage_act, on_train("user_pk", "granted"), S)],
    "train_step": [
        Rule("POST", act, lambda w, p, s: {"pk": w.side(s).train.pk, "transition": "cancel"}, S)
    ],
    # Templates and schedules: release managers, as a team (any may see, use and change
    # them); cloning or keeping a train as a template also needs to see that train.
    "train_clone": [Rule("GET", manage_page, train, S), Rule("POST", manage_page, train, S)],
    "template_save": [Rule("POST", manage_act, train, S)],
    "train_from_template": [Rule("POST", only(PLANNERS, 400))],
    "template_list": [Rule("GET", only(PLANNERS, 200))],
    "template_detail": [Rule("GET", only(PLANNERS, 200), template)],
    "template_edit": [
        Rule("GET", only(PLANNERS, 200), template),
        Rule("POST", only(PLANNERS, 200), template),
    ],
    "schedule_add": [Rule("POST", only(PLANNERS, 400), template)],
    "schedule_edit": [
        Rule("GET", only(PLANNERS, 200), schedule),
        Rule("POST", only(PLANNERS, 200), schedule),
    ],
    "schedule_pause": [Rule("POST", only(PLANNERS, 302), schedule)],
    "schedule_run": [Rule("POST", only(PLANNERS, 302), schedule)],
    "schedule_delete": [Rule("POST", only(PLANNERS, 302), schedule)],
    # Freeze windows: everyone signed in reads them; keepers add, change and remove.
    "freeze_list": [Rule("GET", everyone(200)), Rule("POST", only(KEEPERS, 400))],
    "freeze_edit": [
        Rule("GET", only(KEEPERS, 200), freeze),
        Rule("POST", only(KEEPERS, 400), freeze),
    ],
    "freeze_remove": [Rule("POST", only(KEEPERS, 302), freeze)],
    # Delivery metrics for release managers and executives (of the trains they see); the
    # portfolio for everyone, of the trains they see.
    "metrics": [Rule("GET", only(METRICS, 200))],
    "api:metrics_export": [
        Rule("GET", only(METRICS, 200), lambda w, p, s: {"name": "on-time"}),
    ],
    "portfolio": [Rule("GET", everyone(200))],
    # An approval mail's link: the signed token names its approver; no sign-in needed.
    "decision_link": [
        Rule("GET", decision_link, link, S, reader=lambda p: p),
        Rule("POST", decision_link, link, S),
    ],
    # Moving a release that missed the train: its release managers. The world's trains
    # are in verification, when releases do not move: its manager is sent back to the
    # train with the reason, others are refused as on every manage page.
    "release_move": [
        Rule(
            "GET",
            manage_act,
            lambda w, p, s: {"pk": w.side(s).train.pk, "release_pk": w.side(s).releases[1].pk},
            S,
        ),
        Rule(
            "POST",
            manage_act,
            lambda w, p, s: {"pk": w.side(s).train.pk, "release_pk": w.side(s).releases[1].pk},
            S,
        ),
    ],
    "inbox": [Rule("GET", everyone(200))],  # it lists what waits for you, maybe nothing
    "calendar": [Rule("GET", everyone(200))],
    # Applications
    "application_list": [
        Rule("GET", only({"manager", "owner", "engineer"}, 200)),
        Rule("POST", only({"manager", "owner"}, 200)),
    ],
    "application_detail": [
        Rule("GET", app_object(200), application, S),
        Rule(
            "POST",
            lambda p, s: 403 if p == "engineer" else app_object(200)(p, s),
            application,
            S,
        ),
    ],
    "turnover_submit": [Rule("POST", release_object(302), release(1), S)],
    "release_step": [
        Rule("POST", release_object(302), release(0, transition="start_development"), S)
    ],
    "turnover_decide": [Rule("POST", act, obj("turnover", verdict="accept"), S)],
    # Notifications
    "notifications:preferences": [Rule("GET", everyone(200)), Rule("POST", everyone(200))],
    "notifications:address_retry": [Rule("POST", everyone(302))],
    "notifications:sent": [Rule("GET", only({"manager"}, 200))],
    "notifications:sent_train": [Rule("GET", manage_page, train, S)],
    # Profile, tokens, feeds, exports, webhooks
    "api:profile": [Rule("GET", everyone(200))],
    "api:token_create": [Rule("POST", everyone(200))],
    "api:token_revoke": [
        Rule("POST", lambda p, s: 302 if p == ANON or s == "own" else 404, own_token, S)
    ],
    # The new URL is shown on the answer itself, once.
    "api:feed_regenerate": [Rule("POST", everyone(200))],
    # The secret URL is the credential: whoever holds it reads its owner's calendar.
    "api:calendar_feed": [
        Rule("GET", lambda p, s: 200 if s == "own" else 404, feed, S, reader=feed_owner)
    ],
    "api:trains_export": [Rule("GET", everyone(200))],
    "api:releases_export": [Rule("GET", page, train, S)],
    "api:webhook_list": [Rule("GET", only({"manager"}, 200)), Rule("POST", only({"manager"}, 200))],
    "api:webhook_detail": [Rule("GET", webhook(200), hook, S)],
    "api:webhook_set_active": [Rule("POST", webhook(302), hook, S)],
    "api:webhook_delete": [Rule("POST", webhook(302), hook, S)],
    "api:delivery_redeliver": [Rule("POST", webhook(302), delivery, S)],
    "api:schema": [Rule("GET", everyone(200, anon=200))],
    "api:docs": [Rule("GET", everyone(200, anon=200))],
    "^api/": [Rule("GET", everyone(404, anon=404)), Rule("POST", everyone(404, anon=404))],
    # REST API v1
    "api:trains": [
        Rule("GET", api(lambda p, s: 200), api=True),
        Rule("POST", api(lambda p, s: 400), api=True),
    ],
    "api:train": [
        Rule("GET", api_seen(200), train, S, api=True),
        Rule("PATCH", api_seen(200, ({"manager"}, 403)), train, S, api=True),
    ],
    "api:train_events": [Rule("GET", api_seen(200), train, S, api=True)],
    "api:train_transition": [
        Rule(
            "POST",
            api_seen(400, ({"manager"}, 403)),
            lambda w, p, s: {"pk": w.side(s).train.pk, "name": "cancel"},
            S,
            api=True,
        )
    ],
    "api:criteria": [
        Rule("GET", api_seen(200), train, S, api=True),
        Rule("POST", api_seen(400), train, S, api=True),
    ],
    "api:criterion_check": [
        Rule("POST", api_seen(200, ({"manager", "qa"}, 403)), obj("criterion"), S, api=True)
    ],
    "api:criterion_uncheck": [
        Rule("POST", api_seen(200, ({"manager", "qa"}, 403)), obj("criterion"), S, api=True)
    ],
    # Permission before input: only its managers get to hear the input is missing.
    "api:criterion_required": [
        Rule("POST", api_seen(400, ({"manager"}, 403)), obj("criterion"), S, api=True)
    ],
    "api:criterion": [
        Rule("DELETE", api_seen(204, ({"manager"}, 403)), obj("criterion"), S, api=True)
    ],
    "api:requirements": [
        Rule("GET", api_seen(200), train, S, api=True),
        Rule("POST", api_seen(400), train, S, api=True),
    ],
    # Locked after scoping, and the world's trains are in verification.
    "api:requirement": [Rule("DELETE", api_seen(409, ({"manager"}, 403)), obj("dev"), S, api=True)],
    "api:train_releases": [
        Rule("GET", api_seen(200), train, S, api=True),
        Rule("POST", api_seen(400), train, S, api=True),
    ],
    # Permission before input: only its managers get to hear the reason is missing.
    "api:train_release_remove": [
        Rule(
            "POST",
            api_seen(400, ({"manager"}, 403)),
            lambda w, p, s: {"pk": w.side(s).train.pk, "release_pk": w.side(s).releases[1].pk},
            S,
            api=True,
        )
    ],
    "api:milestones": [
        Rule("GET", api_seen(200), train, S, api=True),
        Rule("POST", api_seen(400), train, S, api=True),
    ],
    "api:milestone_reach": [
        Rule("POST", api_seen(200, ({"manager"}, 403)), obj("milestone"), S, api=True)
    ],
    # Who a train is shared with is for its managers, as on its page.
    "api:train_access": [
        Rule("GET", api_seen(200, ({"manager"}, 403)), train, S, api=True),
        Rule("POST", api_seen(400, ({"manager"}, 403)), train, S, api=True),
    ],
    "api:train_access_revoke": [
        Rule(
            "DELETE",
            api_seen(204, ({"manager"}, 403)),
            on_train("user_pk", "granted"),
            S,
            api=True,
        )
    ],
    "api:webhooks": [
        Rule("GET", api(only({"manager"}, 200, anon=401)), api=True),
        Rule("POST", api(only({"manager"}, 400, anon=401)), api=True),
    ],
    "api:webhook": [
        Rule("GET", api_webhook(200), hook, S, api=True),
        Rule("PATCH", api_webhook(400), hook, S, api=True),
        Rule("DELETE", api_webhook(204), hook, S, api=True),
    ],
    "api:webhook_redeliver": [Rule("POST", api_webhook(202), delivery, S, api=True)],
    "api:notification_preferences": [
        Rule("GET", api(lambda p, s: 200), api=True),
        Rule("PATCH", api(lambda p, s: 200), api=True),
    ],
    "api:address_retry": [Rule("POST", api(lambda p, s: 200), api=True)],
    "api:decisions": [Rule("POST", api_seen(400), train, S, api=True)],
    "api:train_plan": [Rule("POST", api_seen(400), train, S, api=True)],
    "api:baselines": [
        Rule("GET", api_seen(200), train, S, api=True),
        Rule("POST", api_seen(400), train, S, api=True),
    ],
    "api:scope_since_baseline": [Rule("GET", api_seen(200), train, S, api=True)],
    "api:health_override": [Rule("POST", api_seen(400), train, S, api=True)],
    "api:deployments": [Rule("POST", api_seen(400), train, S, api=True)],
    # Templates and schedules (release managers; a train cloned must be one they see)
    "api:templates": [
        Rule("GET", api(only(PLANNERS, 200, anon=401)), api=True),
        Rule("POST", api(only(PLANNERS, 400, anon=401)), api=True),
    ],
    "api:template": [
        Rule("GET", api(only(PLANNERS, 200, anon=401)), template, api=True),
        Rule("PATCH", api(only(PLANNERS, 200, anon=401)), template, api=True),
    ],
    "api:template_events": [Rule("GET", api(only(PLANNERS, 200, anon=401)), template, api=True)],
    "api:template_trains": [Rule("POST", api(only(PLANNERS, 400, anon=401)), template, api=True)],
    "api:template_schedules": [
        Rule("GET", api(only(PLANNERS, 200, anon=401)), template, api=True),
        Rule("POST", api(only(PLANNERS, 400, anon=401)), template, api=True),
    ],
    "api:train_clone": [
        Rule("GET", api_seen(200, (PLANNERS, 403)), train, S, api=True),
        Rule("POST", api_seen(400, (PLANNERS, 403)), train, S, api=True),
    ],
    "api:schedules": [Rule("GET", api(only(PLANNERS, 200, anon=401)), api=True)],
    "api:schedule": [
        Rule("GET", api(only(PLANNERS, 200, anon=401)), schedule, api=True),
        Rule("PATCH", api(only(PLANNERS, 200, anon=401)), schedule, api=True),
        Rule("DELETE", api(only(PLANNERS, 204, anon=401)), schedule, api=True),
    ],
    "api:schedule_pause": [Rule("POST", api(only(PLANNERS, 200, anon=401)), schedule, api=True)],
    "api:schedule_resume": [Rule("POST", api(only(PLANNERS, 200, anon=401)), schedule, api=True)],
    "api:schedule_run": [Rule("POST", api(only(PLANNERS, 200, anon=401)), schedule, api=True)],
    # Freeze windows: read by all; keepers change them (permission before input).
    "api:freeze_windows": [
        Rule("GET", api(lambda p, s: 200), api=True),
        Rule("POST", api(only(KEEPERS, 400, anon=401)), api=True),
    ],
    "api:freeze_window": [
        Rule("GET", api(lambda p, s: 200), freeze, api=True),
        Rule("PATCH", api(only(KEEPERS, 200, anon=401)), freeze, api=True),
        Rule("DELETE", api(only(KEEPERS, 400, anon=401)), freeze, api=True),
    ],
    "api:metrics": [Rule("GET", api(only(METRICS, 200, anon=401)), api=True)],
    # The token authenticates; the link must still be the signed-in approver's.
    "api:decision_link": [
        Rule(
            "GET",
            api(lambda p, s: 409 if s == "own" and p == "executive" else 403),
            link,
            S,
            api=True,
        ),
        Rule(
            "POST",
            api(lambda p, s: 409 if s == "own" and p == "executive" else 403),
            link,
            S,
            api=True,
        ),
    ],
    # A release found through the trains and applications one sees; its managers move it.
    "api:release_move": [Rule("POST", api_seen(400, ({"manager"}, 403)), release(1), S, api=True)],
    "api:inbox": [Rule("GET", api(lambda p, s: 200), api=True)],
    "api:applications": [
        Rule("GET", api(lambda p, s: 200), api=True),
        Rule("POST", api(lambda p, s: 400), api=True),
    ],
    "api:releases": [
        Rule("GET", api(lambda p, s: 200), api=True),
        Rule("POST", api(lambda p, s: 400), api=True),
    ],
    "api:release_transition": [
        Rule(
            "POST",
            api_seen(409, ({"owner"}, 403)),
            release(0, name="start_development"),
            S,
            api=True,
        )
    ],
    "api:turnovers": [
        Rule("GET", api(lambda p, s: 200), api=True),
        Rule("POST", api(lambda p, s: 400), api=True),
    ],
    "api:turnover_accept": [
        Rule("POST", api_seen(200, ({"engineer"}, 403)), obj("turnover"), S, api=True)
    ],
    # Permission before input: only engineers get to hear the reason is missing.
    "api:turnover_reject": [
        Rule("POST", api_seen(400, ({"engineer"}, 403)), obj("turnover"), S, api=True)
    ],
}


def _admin_expect(route: str):
    if route == "admin/login/":
        return everyone(200, anon=200)
    # None of the personas is staff: off to the admin's sign-in (logout: to the index,
    # which sends them there).
    return everyone(302)


# The patterns, from the resolver ---------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    key: str  # the URL name (with namespace), or the route for an unnamed pattern
    route: str
    name: str | None


def _walk(patterns, prefix="", namespace=None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            route = prefix + str(entry.pattern)
            yield Pattern(name or route, route, name)


PATTERNS = list(_walk(get_resolver().url_patterns))
APP_PATTERNS = [p for p in PATTERNS if not p.route.startswith("admin/")]
ADMIN_PATTERNS = [p for p in PATTERNS if p.route.startswith("admin/")]


def test_every_url_pattern_has_a_rule():
    unclassified = sorted({p.key for p in APP_PATTERNS} - set(RULES))
    assert not unclassified, (
        "These URL patterns have no rule in tests/security/test_access_matrix.py RULES: "
        f"{unclassified}. Say which status each persona must get (own train, other train, "
        "anonymous) before the page ships."
    )
    stale = sorted(set(RULES) - {p.key for p in APP_PATTERNS})
    assert not stale, f"RULES name URL patterns that no longer exist: {stale}"


# Building URLs ---------------------------------------------------------------------------

_ADMIN_SAMPLE = {"object_id": "1", "content_type_id": "1", "url": "nothing", "app_label": None}


def _admin_url(pattern: Pattern) -> str:
    route = pattern.route
    for group in re.findall(r"<[^>]+>", route):
        name = group.strip("<>").split(":")[-1]
        route = route.replace(group, _ADMIN_SAMPLE.get(name) or "1")

    def sample(match):
        name, body = match.group(1), match.group(2)
        if name == "app_label":
            return body.split("|")[0]
        return _ADMIN_SAMPLE.get(name) or "x"

    route = re.sub(r"\(\?P<(\w+)>([^)]*)\)", sample, route)
    return "/" + route.lstrip("^").rstrip("$")


def _url(pattern: Pattern, rule: Rule, world: World, persona: str, scope: str) -> str:
    kwargs = rule.kwargs(world, persona, scope)
    if pattern.name:
        return reverse(pattern.name, kwargs=kwargs) + rule.query
    assert pattern.key == "^api/" or pattern.key == "", pattern
    return "/api/no/such/endpoint/" if pattern.key == "^api/" else "/"


def _request(client, rule: Rule, url: str, method: str, token: str | None, **headers):
    """One request, undone afterwards: every persona meets the same world."""
    send = getattr(client, method.lower())
    with transaction.atomic():
        if rule.api:
            extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
            body = json.dumps(rule.data) if method != "GET" else None
            kwargs = {"content_type": "application/json"} if method != "GET" else {}
            response = (
                send(url, body, **kwargs, **extra)
                if method != "GET"
                else send(url, **extra, **headers)
            )
        else:
            response = send(url, rule.data, **headers) if method != "GET" else send(url, **headers)
        transaction.set_rollback(True)
    return response


def _leaks(response, persona: str, scope: str) -> list[str]:
    if response.status_code != 200 or response.get("Content-Type", "").startswith("image/"):
        return []
    body = response.content.decode(errors="replace")
    hidden = list(SECRETS)
    if persona not in VIEWERS:
        hidden.append(OWN_NAME)
    return [secret for secret in hidden if secret in body]


@pytest.mark.parametrize("pattern", APP_PATTERNS, ids=[p.key or "root" for p in APP_PATTERNS])
def test_access_matrix(pattern, world, clients):
    rules = RULES.get(pattern.key)
    if rules is None:
        pytest.fail(f"{pattern.key!r} has no rule (see test_every_url_pattern_has_a_rule)")
    problems, cells = [], 0
    for rule in rules:
        for persona in WHO:
            for scope in rule.scopes:
                url = _url(pattern, rule, world, persona, scope)
                client = Client(raise_request_exception=False) if rule.api else clients[persona]
                token = world.tokens[persona][1] if rule.api and persona != ANON else None
                expected = rule.expect(persona, scope)
                response = _request(client, rule, url, rule.method, token)
                cells += 1
                where = f"{rule.method} {url} as {persona} ({scope})"
                if response.status_code != expected:
                    problems.append(f"{where}: {response.status_code}, expected {expected}")
                if response.status_code >= 500:
                    problems.append(f"{where}: server error")
                to_login = response.get("Location", "").startswith("/accounts/login/")
                if expected == 302 and persona == ANON and pattern.key != "" and not to_login:
                    problems.append(f"{where}: redirects to {response['Location']}")
                reader = rule.reader(persona)
                problems += [f"{where}: shows {s!r}" for s in _leaks(response, reader, scope)]
                if rule.method == "GET" and not rule.api:
                    # the same page asked for as an htmx partial answers the same
                    partial = _request(client, rule, url, "GET", token, HTTP_HX_REQUEST="true")
                    if partial.status_code != expected:
                        problems.append(f"{where} (htmx): {partial.status_code}")
                    problems += [
                        f"{where} (htmx): shows {s!r}" for s in _leaks(partial, reader, scope)
                    ]
                if rule.changes_state and not any(r.method == "GET" for r in rules):
                    # state-changing only: a GET must change nothing and be refused
                    got = _request(client, rule, url, "GET", token).status_code
                    refused = {405} if persona != ANON else {302, 401, 405}
                    if pattern.key == "^api/":
                        refused = {404}
                    if got not in refused:
                        problems.append(f"GET {url} as {persona}: {got}, expected 405")
    numbers.add("access matrix: URL patterns", 1)
    numbers.add("access matrix: URL x persona x train cells", cells)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("pattern", ADMIN_PATTERNS, ids=[p.route for p in ADMIN_PATTERNS])
def test_admin_is_for_staff_only(pattern, world, clients):
    url = _admin_url(pattern)
    expect = _admin_expect(pattern.route)
    problems = []
    for persona in WHO:
        response = _request(clients[persona], Rule("GET", expect), url, "GET", None)
        expected = expect(persona, "-")
        if response.status_code != expected:
            problems.append(f"GET {url} as {persona}: {response.status_code}, expected {expected}")
        elif expected == 302 and not response["Location"].startswith(("/admin/login/", "/admin/")):
            problems.append(f"GET {url} as {persona}: redirects to {response['Location']}")
    numbers.add("access matrix: URL patterns", 1)
    numbers.add("access matrix: URL x persona x train cells", len(WHO))
    assert not problems, "\n".join(problems)


# CSRF ------------------------------------------------------------------------------------

STATE_CHANGING = [
    (pattern, rule)
    for pattern in APP_PATTERNS
    for rule in RULES.get(pattern.key, [])
    if rule.method != "GET" and pattern.key != "^api/"  # the JSON 404 changes nothing
]
UNCOUNTED = {"Session", "AccessAttempt", "AccessLog", "AccessFailureLog"}


def _fingerprint() -> dict[str, int]:
    from django.apps import apps

    return {
        model.__name__: model._default_manager.count()
        for model in apps.get_models()
        if model.__name__ not in UNCOUNTED
    }


@pytest.mark.parametrize(
    ("pattern", "rule"),
    STATE_CHANGING,
    ids=[f"{rule.method} {pattern.key}" for pattern, rule in STATE_CHANGING],
)
def test_state_changing_urls_refuse_a_post_without_csrf_token(pattern, rule, world, clients):
    """The session is an ambient credential: without the form's token, no change."""
    scope = "own" if rule.scopes == SCOPED else "-"
    url = _url(pattern, rule, world, "manager", scope)
    before = _fingerprint()
    for persona in ("manager", ANON):
        client = Client(enforce_csrf_checks=True, raise_request_exception=False)
        if persona != ANON:
            client.force_login(world.users[persona])
        send = getattr(client, rule.method.lower())
        body = json.dumps(rule.data) if rule.api else rule.data
        kwargs = {"content_type": "application/json"} if rule.api else {}
        response = send(url, body, **kwargs)
        expected = 401 if rule.api and persona == ANON else 403
        assert response.status_code == expected, (persona, response.content[:300])
        if rule.api and persona != ANON:
            assert b"CSRF" in response.content
    assert _fingerprint() == before
    # The control: with the token the same request goes through to the view.
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(world.users["manager"])
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    with transaction.atomic():
        send = getattr(client, rule.method.lower())
        body = json.dumps(rule.data) if rule.api else rule.data
        kwargs = {"content_type": "application/json"} if rule.api else {}
        response = send(url, body, HTTP_X_CSRFTOKEN=token, **kwargs)
        transaction.set_rollback(True)
    assert response.status_code == rule.expect("manager", scope), response.content[:300]
    numbers.add("CSRF: state-changing URLs refused without a token", 1)
