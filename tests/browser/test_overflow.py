"""Nothing overflows a phone: at 390 px no page is wider than the screen, whatever the
names people type.

Every text a person can type is 120 characters without a space (train names, purposes,
application names, versions, milestones, criteria, full names, group names, reasons,
logs), and each demo role crawls every page it can reach from the navigation and the
trains' pages, asserting on each that the document is no wider than the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.urls import Resolver404, resolve
from playwright.sync_api import Page

from api import services as api_services
from api.models import WebhookDelivery, WebhookSubscription
from applications.models import Application, ApplicationRelease
from tests import numbers
from tests.browser.support import PHONE, Visitor
from tests.factories import drive, fresh, make_train
from trains import services
from trains.models import ReleaseTrain
from trains.services import templates

pytestmark = pytest.mark.browser

ROLES = ("manager", "owner", "qa", "executive", "engineer", "stakeholder")


def unbroken(prefix: str, length: int = 120) -> str:
    """A word of `length` characters with no place to break it."""
    return (prefix + "Averyverylongunbrokenword" * (length // 20 + 1))[:length]


LONG_GROUP = unbroken("Changeadvisoryboard")
LOG = "\n".join(
    [f"step {n}: {unbroken('deploying', 300)}" for n in range(12)] + ["done: rolled back"]
)
# Pages no link leads to in this data, but which a person reaches all the same.
SEEDS = ("/trains/", "/profile/", "/api/docs/", "/approvals/", "/approvals/?tab=decided")
SEED_TRAIN_PAGES = ("history/",)
# Where the crawl never goes: files, the admin, the API itself, sign-out.
SKIP_PREFIXES = ("/admin/", "/static/", "/api/v1/", "/api/schema/", "/calendar/feed/", "/accounts/")
SKIP_SUFFIXES = (".csv", ".ics")
# Query parameters that make a different page (the rest are filters and sort orders).
PAGE_PARAMS = ("tab",)
PER_PATTERN = 3  # instances of one URL pattern worth crawling (every train page: all)
EVERY_INSTANCE = {"train_detail"}
# Pages each role must have been through, so that a crawl that stops finding links fails.
EVERYONE = {
    "train_list",
    "train_detail",
    "train_history",
    "deployment_log",
    "inbox",
    "calendar",
    "notifications:preferences",
    "api:profile",
    "api:docs",
    "password_change",
    "train_baselines",
}
MUST_REACH = {
    "manager": EVERYONE
    | {
        "train_create",
        "train_edit",
        "application_list",
        "application_detail",
        "notifications:sent",
        "notifications:sent_train",
        "api:webhook_list",
        "api:webhook_detail",
        "train_clone",
        "template_list",
        "template_detail",
        "template_edit",
        "schedule_edit",
        "train_plan",
        "release_move",
        "metrics",
        "freeze_list",
    },
    "owner": EVERYONE | {"application_list", "application_detail"},
    "qa": EVERYONE,
    "executive": EVERYONE | {"metrics"},
    "engineer": EVERYONE | {"application_list", "application_detail"},
    "stakeholder": EVERYONE,
}


@dataclass
class Crawl:
    checked: dict[str, int] = field(default_factory=dict)  # role -> pages checked
    wide: list[str] = field(default_factory=list)
    reached: dict[str, set[str]] = field(default_factory=dict)


@pytest.fixture
def long_names(people, stakeholder):
    """Trains in every state, with every typed text long and unbroken."""
    board = Group.objects.create(name=LONG_GROUP)
    board.user_set.add(people["executive"])
    for username, user in {**people, "stakeholder": stakeholder}.items():
        user.first_name = unbroken(username)
        user.last_name = unbroken(username.title(), 60)
        user.save(update_fields=["first_name", "last_name"])
    trains = []
    states = [
        "scoping",
        "construction",
        "development_approval",
        "verification",
        "executive_approval",
        "deployment",
        "closed",
    ]
    for index, state in enumerate(states):
        train = make_train(
            people["manager"],
            name=unbroken(f"Train{index}"),
            purpose=unbroken("Purpose", 1500),
        )
        services.train_grant(train=train, by=people["manager"], user=stakeholder)
        train, dev, exe, releases = drive(train, state, executives_group=LONG_GROUP, **people)
        trains.append(train)
        for release in releases:
            Application.objects.filter(pk=release.application_id).update(
                name=unbroken(f"App{release.pk}")
            )
            ApplicationRelease.objects.filter(pk=release.pk).update(
                version=unbroken(f"{release.pk}.", 60)
            )
        if train.is_open:
            services.milestone_add(
                train=train,
                by=people["manager"],
                name=unbroken("Milestone"),
                due_date=train.end_date,
            )
            services.criterion_add(
                train=fresh(train),
                by=people["manager"],
                phase="deployment",
                description=unbroken("Criterion", 200),
                required=False,
            )
        if state == "deployment":
            services.train_deploy(
                train=fresh(train), by=people["engineer"], succeeded=False, log=LOG
            )
        if state == "executive_approval":
            services.decision_record(
                requirement=exe, by=people["executive"], approve=False, comment=unbroken("No", 400)
            )
            services.train_transition(
                train=fresh(train), name="request_executive_approval", by=people["manager"]
            )
    cancelled = make_train(people["manager"], name=unbroken("Cancelled"))
    services.train_grant(train=cancelled, by=people["manager"], user=stakeholder)
    services.train_transition(
        train=cancelled, name="cancel", by=people["manager"], reason=unbroken("Reason", 400)
    )
    manager = people["manager"]
    api_services.token_create(user=manager, name=unbroken("Token", 80))
    hook = WebhookSubscription.objects.create(
        owner=manager,
        url="https://hooks.example.com/" + unbroken("hook", 300),
        secret="s" * 64,
        events=["train.transitioned"],
        train=trains[0],
    )
    WebhookDelivery.objects.create(
        subscription=hook,
        event=trains[0].events.order_by("id").first(),
        kind="train.transitioned",
        payload={},
    )
    template = templates.template_save(
        train=trains[0],
        by=manager,
        name=unbroken("Template"),
        name_pattern=unbroken("Pattern", 90) + "{year}{month:02}{day:02}",
    )
    templates.schedule_create(
        template=template,
        by=manager,
        cadence="weeks",
        interval=1,
        start_date=trains[0].start_date,
    )
    made = templates.cadences_run()
    for train in made:
        services.train_grant(train=train, by=manager, user=stakeholder)
    return [*trains, cancelled, *made]


def _page_key(url: str, base: str) -> tuple[str, str, str] | None:
    """The page a link leads to, as (pattern, what it names, path?query), or None when
    the crawl does not go there."""
    if not url.startswith(base):
        return None
    parts = urlsplit(url)
    path = parts.path
    if path.startswith(SKIP_PREFIXES) or path.endswith(SKIP_SUFFIXES):
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if match.view_name in ("", None) or match.url_name in ("train_step", "release_step"):
        return None
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k in PAGE_PARAMS])
    target = f"{path}?{query}" if query else path
    return match.view_name, repr(sorted(match.kwargs.items())), target


# What sticks out: the innermost elements past the window's right edge, leaving out those
# inside a box that scrolls or clips them (a table in .table-responsive).
WIDEST = """() => {
  const limit = window.innerWidth + 0.5;
  const clipped = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  const past = el => el.getBoundingClientRect().right > limit && !clipped(el);
  return Array.from(document.querySelectorAll('body *'))
    .filter(el => past(el) && !Array.from(el.children).some(past))
    .slice(0, 4)
    .map(el => `<${el.tagName.toLowerCase()} class="${el.className}"> `
      + `${Math.round(el.getBoundingClientRect().right)} px: `
      + (el.textContent || '').trim().slice(0, 40));
}"""


def _check(page: Page, crawl: Crawl, role: str, target: str) -> list[str]:
    """Open a page, check its width, and return the links on it."""
    response = page.goto(target)
    assert response is not None and response.status < 500, f"{role} {target}: {response}"
    if response.status != 200:  # a page this role may not open: nothing to check
        return []
    if urlsplit(target).path == "/api/docs/":
        page.locator(".swagger-ui .opblock").first.wait_for()
    sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    crawl.checked[role] = crawl.checked.get(role, 0) + 1
    if sizes[0] > sizes[1]:
        crawl.wide.append(
            f"{role} {target}: {sizes[0]} px > {sizes[1]} px; {page.evaluate(WIDEST)}"
        )
    return page.evaluate("() => Array.from(document.querySelectorAll('a[href]'), a => a.href)")


def _crawl_as(visitor: Visitor, role: str, trains, crawl: Crawl) -> None:
    page = visitor.sign_in(role, viewport=PHONE)
    base = visitor.base_url
    queue = [base + path for path in SEEDS]
    queue += [f"{base}/trains/{t.pk}/{extra}" for t in trains for extra in ("", *SEED_TRAIN_PAGES)]
    seen_targets: set[str] = set()
    per_pattern: dict[str, set[str]] = {}
    reached = crawl.reached.setdefault(role, set())
    while queue:
        key = _page_key(queue.pop(0), base)
        if key is None:
            continue
        name, instance, target = key
        if target in seen_targets:
            continue
        instances = per_pattern.setdefault(name, set())
        full = len(instances) >= PER_PATTERN and name not in EVERY_INSTANCE
        if full and instance not in instances:
            continue
        seen_targets.add(target)
        instances.add(instance)
        reached.add(name)
        queue += _check(page, crawl, role, target)


def test_no_page_is_wider_than_a_phone(visitor: Visitor, long_names):
    crawl = Crawl()
    for role in ROLES:
        _crawl_as(visitor, role, long_names, crawl)
    for role, pages in crawl.checked.items():
        numbers.add(f"390 px crawl: pages checked as {role}", pages)
    numbers.add("390 px crawl: pages x roles checked", sum(crawl.checked.values()))
    assert crawl.wide == [], "\n".join(crawl.wide)
    for role, names in MUST_REACH.items():
        assert names <= crawl.reached[role], f"{role} never reached {names - crawl.reached[role]}"
    assert ReleaseTrain.objects.count() == len(long_names)  # the crawl made none
