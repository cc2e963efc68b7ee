"""Everything a person can do in the browser, a script can do (README, "API and
integrations"): every page action — each route of the site that takes a POST — is mapped
here to the /api/v1/ endpoint that does the same through the same service, or exempted
with the reason a script must not do it. The page actions come from the URL resolver, so
a new page fails this test until its API counterpart exists and is mapped below.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.views.generic import RedirectView
from drf_spectacular.generators import SchemaGenerator
from rest_framework.views import APIView

HERE = "tests/api/test_api_parity.py"


@dataclass(frozen=True)
class Api:
    """The API route (URL name) and method that does what the page action does."""

    name: str
    method: str = "POST"


@dataclass(frozen=True)
class Exempt:
    """A page action no script may take, and why."""

    reason: str


CREDENTIALS = (
    "credentials are made, changed and revoked by their person in the browser: a token "
    "that could mint tokens or feed URLs would outlive its own revocation"
)

# page URL name -> its API counterpart(s)
PAGE_ACTIONS: dict[str, Api | Exempt | tuple[Api, ...]] = {
    # Sign-in and the password: the API authenticates with personal tokens instead.
    "login": Exempt("sessions are for browsers; scripts send a personal API token"),
    "logout": Exempt("sessions are for browsers; scripts send a personal API token"),
    "password_change": Exempt(CREDENTIALS),
    "api:token_create": Exempt(CREDENTIALS),
    "api:token_revoke": Exempt(CREDENTIALS),
    "api:feed_regenerate": Exempt(CREDENTIALS),
    # Trains
    "train_create": Api("api:trains"),
    "train_edit": Api("api:train", "PATCH"),
    "train_step": Api("api:train_transition"),
    "train_deploy": Api("api:deployments"),
    "train_decide": Api("api:decisions"),
    "criterion_add": Api("api:criteria"),
    "criterion_check": (Api("api:criterion_check"), Api("api:criterion_uncheck")),
    "criterion_required": Api("api:criterion_required"),
    "criterion_remove": Api("api:criterion", "DELETE"),
    "requirement_add": Api("api:requirements"),
    "requirement_remove": Api("api:requirement", "DELETE"),
    "release_add": Api("api:train_releases"),
    "release_remove": Api("api:train_release_remove"),
    "milestone_add": Api("api:milestones"),
    "milestone_reach": Api("api:milestone_reach"),
    "access_grant": Api("api:train_access"),
    "access_revoke": Api("api:train_access_revoke", "DELETE"),
    # Applications, releases, turnovers
    "application_list": Api("api:applications"),
    "application_detail": Api("api:releases"),
    "release_step": Api("api:release_transition"),
    "turnover_submit": Api("api:turnovers"),
    "turnover_decide": (Api("api:turnover_accept"), Api("api:turnover_reject")),
    "release_move": Api("api:release_move"),
    "decision_link": Api("api:decision_link"),
    # Templates, clones and schedules
    "template_save": Api("api:templates"),
    "template_edit": Api("api:template", "PATCH"),
    "train_from_template": Api("api:template_trains"),
    "train_clone": Api("api:train_clone"),
    "schedule_add": Api("api:template_schedules"),
    "schedule_edit": Api("api:schedule", "PATCH"),
    "schedule_delete": Api("api:schedule", "DELETE"),
    "schedule_pause": (Api("api:schedule_pause"), Api("api:schedule_resume")),
    "schedule_run": Api("api:schedule_run"),
    # Webhooks and notification settings
    "api:webhook_list": Api("api:webhooks"),
    "api:webhook_set_active": Api("api:webhook", "PATCH"),
    "api:webhook_delete": Api("api:webhook", "DELETE"),
    "api:delivery_redeliver": Api("api:webhook_redeliver"),
    "notifications:preferences": Api("api:notification_preferences", "PATCH"),
    "notifications:address_retry": Api("api:address_retry"),
}


# The page actions, from the URL resolver -------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # the URL name with its namespace, or the route when unnamed
    route: str
    view: Callable


def _walk(patterns, prefix: str = "", namespace: str | None = None) -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            route = prefix + str(entry.pattern)
            yield Route(name or route, route, entry.callback)


ROUTES = {r.key: r for r in _walk(get_resolver().url_patterns)}


def _declared_methods(view: Callable) -> set[str] | None:
    """The methods a function view's require_http_methods (require_POST, …) allows."""
    function = view
    while function is not None:
        for cell in getattr(function, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if (
                isinstance(value, list | tuple)
                and value
                and all(isinstance(v, str) and v.isupper() for v in value)
            ):
                return set(value)
        function = getattr(function, "__wrapped__", None)
    return None


def _innermost(view: Callable) -> Callable:
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    return view


def takes_post(route: Route) -> bool:
    view_class = getattr(route.view, "view_class", None) or getattr(route.view, "cls", None)
    if view_class is not None:
        return hasattr(view_class, "post") and not issubclass(view_class, RedirectView)
    methods = _declared_methods(route.view)
    if methods is not None:
        return "POST" in methods
    # A function view without a method decorator: it takes a POST if it reads one.
    source = inspect.getsource(_innermost(route.view))
    return "request.POST" in source or 'request.method == "POST"' in source


def is_page(route: Route) -> bool:
    """A route of the site for people: not the admin, and not the REST API itself."""
    view_class = getattr(route.view, "view_class", None) or getattr(route.view, "cls", None)
    if view_class is not None and issubclass(view_class, APIView):
        return False
    return not route.route.startswith(("admin/", "api/", "^api/"))


PAGE_ACTION_KEYS = sorted(k for k, r in ROUTES.items() if is_page(r) and takes_post(r))


def _where(route: Route) -> str:
    view = _innermost(route.view)
    return f"POST /{route.route}, view {view.__module__}.{view.__qualname__}"


def test_every_page_action_has_an_api_counterpart():
    unmapped = [k for k in PAGE_ACTION_KEYS if k not in PAGE_ACTIONS]
    assert not unmapped, (
        "These page actions have no API counterpart:\n"
        + "\n".join(f"  - {k!r} ({_where(ROUTES[k])})" for k in unmapped)
        + "\nEverything a person can do in the browser, a script can do. For each: add the "
        "endpoint under /api/v1/ (api/urls.py, api/views.py; the same service and access "
        "rule as the page, in the OpenAPI schema), then map it in PAGE_ACTIONS in "
        f"{HERE}, e.g.\n    {unmapped[0]!r}: Api('api:<url name>', 'POST'),\n"
        "or, if a script must never do it, Exempt('<why>')."
    )


def test_the_map_names_only_page_actions_that_exist():
    stale = sorted(set(PAGE_ACTIONS) - set(PAGE_ACTION_KEYS))
    assert not stale, (
        f"PAGE_ACTIONS in {HERE} names routes that are not page actions (any more): {stale}"
    )


def _api_targets() -> Iterator[tuple[str, Api]]:
    for key, counterpart in PAGE_ACTIONS.items():
        for target in counterpart if isinstance(counterpart, tuple) else (counterpart,):
            if isinstance(target, Api):
                yield key, target


def _shape(path: str) -> str:
    """A path with its parameters unnamed: the schema calls <int:pk> {id}."""
    return re.sub(r"\{[^}]+\}", "{}", re.sub(r"<(?:\w+:)?\w+>", "{}", path))


@pytest.fixture(scope="module")
def schema_paths() -> dict:
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return {_shape(path): operations for path, operations in paths.items()}


@pytest.mark.parametrize(("page", "target"), list(_api_targets()), ids=lambda v: str(v))
def test_each_counterpart_is_an_api_endpoint_in_the_schema(page, target, schema_paths):
    route = ROUTES.get(target.name)
    assert route is not None, f"{page!r} is mapped to {target.name!r}, which is no URL name"
    view_class = getattr(route.view, "cls", None)
    assert view_class is not None and issubclass(view_class, APIView), (
        f"{page!r} is mapped to {target.name!r}, which is not a REST API view"
    )
    assert hasattr(view_class, target.method.lower()), (
        f"{target.name} ({route.route}) does not take {target.method}"
    )
    path = _shape("/" + route.route)
    assert target.method.lower() in schema_paths.get(path, {}), (
        f"{target.method} /{route.route} is not in the OpenAPI schema"
    )


def test_the_walk_finds_the_actions_it_should():
    """The resolver walk itself: it sees decorated, class-based and plain POST views, and
    leaves out reads, redirects, the admin and the API."""
    assert {"train_step", "login", "train_edit", "notifications:preferences"} <= set(
        PAGE_ACTION_KEYS
    )
    assert not {"train_detail", "train_list", "calendar", "", "api:trains"} & set(PAGE_ACTION_KEYS)
