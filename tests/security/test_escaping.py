"""Every text a person can type, filled with markup, then every page read by every
persona: the markup always comes back escaped, and no page carries inline script,
inline style or event-handler attributes (the Content-Security-Policy would block them).
CSV exports neutralise spreadsheet formulas.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import reverse

from api.models import ApiToken, WebhookSubscription
from applications.models import Application, ApplicationRelease
from tests import numbers
from tests.factories import UserFactory, fresh
from tests.security.hostile import MARKUP, found_markup
from tests.security.test_access_matrix import APP_PATTERNS, RULES, _url
from tests.security.world import PERSONAS
from trains import services

pytestmark = pytest.mark.slow

FORMULA = '=HYPERLINK("http://evil.example")'
HOSTILE_NAME = FORMULA + '"><img src=x onerror=alert(1)>'
READERS = [p for p in PERSONAS if p != "outsider"]


class InlineCode(HTMLParser):
    """Collects what a strict Content-Security-Policy would refuse to run or apply."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        data_only = attributes.get("type") in ("application/json", "application/ld+json")
        if tag == "script" and not attributes.get("src") and not data_only:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name == "style":
                self.found.append(f"style= on <{tag}>")
            if name.startswith("on"):
                self.found.append(f"{name}= on <{tag}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"javascript: URL on <{tag}>")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def _fill_with_markup(world) -> None:
    """Every user-typed text of the own train and its people, as markup."""
    users, own = world.users, world.own
    manager, owner, qa, executive, engineer = (
        users[p] for p in ("manager", "owner", "qa", "executive", "engineer")
    )
    get_user_model().objects.filter(pk__in=[u.pk for u in users.values()]).update(
        first_name=MARKUP[0][:150], last_name=MARKUP[1][:150]
    )
    services.train_update(train=own.train, by=manager, name=HOSTILE_NAME, purpose=MARKUP[2])
    hostile_criterion = services.criterion_add(
        train=fresh(own.train), by=manager, phase="verification", description=MARKUP[3]
    )
    services.milestone_add(
        train=fresh(own.train), by=manager, name=MARKUP[4], due_date=own.train.end_date
    )
    application = own.releases[0].application
    Application.objects.filter(pk=application.pk).update(name=MARKUP[5], description=MARKUP[6])
    ApplicationRelease.objects.filter(pk=own.releases[0].pk).update(
        version='"><svg/onload=alert(1)>', notes=MARKUP[0]
    )
    for criterion in (own.criterion, hostile_criterion):
        services.criterion_set_met(criterion=criterion, by=qa, met=True)
    services.train_transition(train=fresh(own.train), name="request_executive_approval", by=manager)
    services.decision_record(requirement=own.exe, by=executive, approve=False, comment=MARKUP[2])
    services.train_transition(train=fresh(own.train), name="request_executive_approval", by=manager)
    services.decision_record(requirement=own.exe, by=executive, approve=True, comment=MARKUP[1])
    services.turnover_decide(turnover=own.turnover, by=engineer, accept=False, reason=MARKUP[3])
    for release in own.releases:
        turnover = services.turnover_submit(release=fresh(release), by=owner, description=MARKUP[4])
        services.turnover_decide(turnover=turnover, by=engineer, accept=True)
    services.train_deploy(train=fresh(own.train), by=engineer, succeeded=False, log=MARKUP[0])
    ApiToken.objects.filter(user=manager).update(name=MARKUP[1][:80])
    WebhookSubscription.objects.filter(pk=world.webhooks["own"].pk).update(
        url='https://hooks.example.com/"><script>alert(1)</script>'
    )


@pytest.fixture
def markup_world(world, db):
    _fill_with_markup(world)
    return world


def _get_rules():
    for pattern in APP_PATTERNS:
        for rule in RULES[pattern.key]:
            if rule.method == "GET" and pattern.key not in ("", "^api/"):
                yield pattern, rule


def test_user_text_is_escaped_on_every_page_for_every_persona(markup_world, clients):
    world = markup_world
    problems, pages = [], 0
    extra_queries = {"inbox": ["?tab=decided"], "notifications:sent_train": ["?status=sent"]}
    for pattern, rule in _get_rules():
        for persona in READERS:
            scope = "own" if rule.scopes != ("-",) else "-"
            if rule.expect(persona, scope) not in (200,) and not rule.api:
                continue
            base = _url(pattern, rule, world, persona, scope)
            for url in [base, *(base + q for q in extra_queries.get(pattern.key, []))]:
                for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
                    if rule.api:
                        if headers:
                            continue
                        token = world.tokens[persona][1]
                        response = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
                    else:
                        response = clients[persona].get(url, **headers)
                    pages += 1
                    where = f"GET {url} as {persona}{' (htmx)' if headers else ''}"
                    problems += _check(response, where)
    numbers.add("escaping crawl: pages read with markup in every text", pages)
    assert pages > 100
    assert not problems, "\n".join(problems)


def _check(response, where: str) -> list[str]:
    if response.status_code >= 500:
        return [f"{where}: {response.status_code}"]
    body = response.content.decode(errors="replace")
    kind = response.get("Content-Type", "")
    problems = []
    if kind.startswith("text/html"):
        problems += [f"{where}: unescaped {t!r}" for t in found_markup(body)]
        problems += [f"{where}: {what}" for what in inline_code(body)]
    elif kind.startswith("application/json"):
        json.loads(body)  # well-formed, whatever the text inside
    elif kind.startswith("text/csv"):
        for line in body.splitlines():
            if FORMULA in line and f"'{FORMULA}" not in line.replace('""', '"'):
                problems.append(f"{where}: a spreadsheet would run {line[:80]!r}")
    return problems


def test_the_admin_escapes_user_text_too(markup_world):
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    problems = []
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        urls = [reverse("admin:{}_{}_changelist".format(*info))]
        first = model._default_manager.order_by("-pk").first()
        if first is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
        for url in urls:
            with transaction.atomic():
                response = client.get(url)
                transaction.set_rollback(True)
            if response.status_code != 200:
                problems.append(f"GET {url}: {response.status_code}")
            problems += [
                f"GET {url}: unescaped {t!r}"
                for t in found_markup(response.content.decode(errors="replace"))
            ]
    assert not problems, "\n".join(problems)
