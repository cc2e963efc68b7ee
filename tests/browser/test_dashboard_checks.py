"""Small browser checks: htmx panels, the same forms without JavaScript, keyboard use,
labels on every field, and a phone-width screen."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from applications.models import ApplicationRelease
from tests.browser.support import (
    PHONE,
    SCREENSHOTS,
    Visitor,
    flash,
    horizontal_overflow,
    screenshot,
    state_badge,
    unlabelled_fields,
)
from tests.factories import ReleaseFactory, drive, fresh, make_train, schedule, scope
from trains import services

pytestmark = pytest.mark.browser

QA_SIGN_OFF = "QA sign-off: regression and acceptance tests passed"


def train_in(state: str, people, **kwargs):
    train, *_ = drive(make_train(people["manager"], **kwargs), state, **people)
    return train


def open_dashboard(page: Page, train) -> None:
    page.get_by_role("link", name=train.name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(train.name)


def test_ticking_a_criterion_refreshes_its_panel_without_a_reload(visitor: Visitor, people):
    train = train_in("verification", people)  # QA has signed off already
    page = visitor.sign_in("manager")
    open_dashboard(page, train)
    page.evaluate("window.__notReloaded = true")
    request = page.locator("#status").get_by_role("button", name="Request executive approval")
    expect(request).to_be_enabled()

    page.get_by_role("button", name=f"Untick {QA_SIGN_OFF}").click()
    tick = page.get_by_role("button", name=f"Tick {QA_SIGN_OFF}")
    expect(tick).to_be_visible()
    # The status banner came along out of band: the step now waits, and says why.
    expect(request).to_be_disabled()
    expect(page.locator("#status")).to_contain_text("1 verification exit criterion unmet")

    tick.click()
    expect(page.locator("#criteria")).to_contain_text("Checked by manager")
    expect(request).to_be_enabled()
    assert page.evaluate("window.__notReloaded") is True
    assert page.url.endswith(f"/trains/{train.pk}/")


def test_ticking_a_criterion_works_without_javascript(visitor: Visitor, people):
    train = train_in("verification", people)
    page = visitor.sign_in("qa", javascript=False)
    open_dashboard(page, train)

    page.get_by_role("button", name=f"Untick {QA_SIGN_OFF}").click()
    expect(page).to_have_url(re.compile(rf"/trains/{train.pk}/#criteria$"))
    expect(page.locator("#criteria")).to_contain_text("Verification 1 unmet")
    assert fresh(train).criteria.get(description=QA_SIGN_OFF).met_at is None

    page.get_by_role("button", name=f"Tick {QA_SIGN_OFF}").click()
    expect(page.locator("#criteria")).to_contain_text("Checked by qa")
    expect(page.get_by_role("button", name=f"Untick {QA_SIGN_OFF}")).to_be_visible()
    assert fresh(train).criteria.get(description=QA_SIGN_OFF).met_by == people["qa"]


def tab_to(page: Page, text: str, limit: int = 40) -> list[str]:
    """Press Tab until the focused element reads `text`; what Tab went through."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate(
                "() => (document.activeElement.innerText"
                " || document.activeElement.getAttribute('aria-label') || '').trim()"
            )
        )
        if seen[-1] == text:
            return seen
    raise AssertionError(f"Tab never reached {text!r}; it went through {seen}")


def test_keyboard_reaches_the_main_actions(visitor: Visitor, people):
    train = train_in("verification", people)
    page = visitor.sign_in("manager")
    assert tab_to(page, "New train")[0] == "Skip to content"
    tab_to(page, "Sign out")

    open_dashboard(page, train)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    passed = tab_to(page, "Request executive approval")
    assert "Trains" not in passed  # the skip link jumped over the navigation
    page.keyboard.press("Enter")
    expect(flash(page)).to_contain_text("Request executive approval: done.")
    expect(state_badge(page)).to_have_text("Executive approval")
    tab_to(page, "Cancel train…")


@pytest.fixture
def trains_for_every_form(people):
    """A train in scoping (every scoping form), one at each gate, one in deployment,
    with a turnover waiting for a release engineer and a free release to add."""
    manager, owner = people["manager"], people["owner"]
    scoping = make_train(manager)
    scope(scoping, manager=manager, owner=owner, releases=1)
    ReleaseFactory(application__product_owner=owner)
    at_gate = train_in("development_approval", people)
    at_executive = train_in("executive_approval", people)
    release = ApplicationRelease.objects.filter(train=at_executive).first()
    services.turnover_submit(release=release, by=owner, description="packages and runbook")
    deploying = train_in("deployment", people)
    # the other release of that train may still be handed over: its form shows
    other = ApplicationRelease.objects.filter(train=at_executive).exclude(pk=release.pk).get()
    return {
        "scoping": scoping,
        "at_gate": at_gate,
        "at_executive": at_executive,
        "deploying": deploying,
        "application": release.application,
        "to_hand_over": other.application,
    }


def test_every_form_field_has_a_label(visitor: Visitor, live_server, trains_for_every_form):
    t = trains_for_every_form
    # Each page, with a field it must show, so that a page missing its form is noticed.
    pages = {
        "manager": {
            "/trains/": "Search",
            "/trains/new/": "Scoping ends",
            f"/trains/{t['scoping'].pk}/": "Add an application release",
            f"/trains/{t['scoping'].pk}/edit/": "Primary release manager",
            f"/trains/{t['at_gate'].pk}/": "Comment (needed to reject)",
            f"/trains/{t['deploying'].pk}/": "Log",
            "/approvals/": "Comment (needed to reject)",
            "/applications/": "Product owner",
            f"/applications/{t['application'].pk}/": "Version",
            "/calendar/": None,
        },
        "owner": {
            f"/applications/{t['to_hand_over'].pk}/": "What is delivered",
            f"/trains/{t['at_executive'].pk}/": "What is delivered in",
        },
        "executive": {
            "/approvals/": "Comment (needed to reject)",
            f"/trains/{t['at_executive'].pk}/": "Comment (needed to reject)",
        },
        "engineer": {"/applications/": "Reason", f"/trains/{t['at_executive'].pk}/": "Reason"},
    }
    missing = {}
    page = visitor.browser.new_page(base_url=live_server.url)
    page.goto("/accounts/login/")
    missing["anonymous /accounts/login/"] = unlabelled_fields(page)
    page.close()
    for username, paths in pages.items():
        page = visitor.sign_in(username)
        for path, field in paths.items():
            response = page.goto(path)
            assert response.status == 200, f"{username} {path}: {response.status}"
            if field:
                expect(page.get_by_label(field).first).to_be_attached()
            missing[f"{username} {path}"] = unlabelled_fields(page)
    assert {where: fields for where, fields in missing.items() if fields} == {}


def test_pages_fit_a_phone_screen(visitor: Visitor, trains_for_every_form):
    t = trains_for_every_form
    page = visitor.sign_in("manager", viewport=PHONE)
    overflow = {}
    for path in [
        "/trains/",
        f"/trains/{t['scoping'].pk}/",
        f"/trains/{t['at_gate'].pk}/",
        f"/trains/{t['deploying'].pk}/",
        f"/trains/{t['scoping'].pk}/edit/",
        "/trains/new/",
        "/approvals/",
        "/applications/",
        f"/applications/{t['application'].pk}/",
        "/calendar/",
    ]:
        page.goto(path)
        overflow[path] = horizontal_overflow(page)
        # Wide tables scroll inside their own box, not the page.
        loose = page.locator("table:not(.table-responsive table)")
        expect(loose).to_have_count(0)
    assert {p: px for p, px in overflow.items() if px > 0} == {}


# The dashboard in every state, wide and on a phone ----------------------------------------

STATES = [
    "scoping",
    "construction",
    "development_approval",
    "verification",
    "executive_approval",
    "deployment",
    "closed",
]


@pytest.fixture
def train_in_every_state(people, stakeholder):
    """A train in each state, and one sent back by the executives, one cancelled, one
    whose deployment failed; the stakeholder sees them all."""
    trains = {state: train_in(state, people) for state in STATES}
    rejected, _, exe, _ = drive(make_train(people["manager"]), "executive_approval", **people)
    services.decision_record(
        requirement=exe, by=people["executive"], approve=False, comment="Too risky this week"
    )
    trains["executive_rejected"] = fresh(rejected)
    cancelled = train_in("construction", people)
    services.train_transition(
        train=cancelled, name="cancel", by=people["manager"], reason="Budget moved to Q3"
    )
    trains["cancelled"] = fresh(cancelled)
    failed = train_in("deployment", people)
    services.train_deploy(train=failed, by=people["engineer"], succeeded=False, log="timeout")
    trains["deployment_failed"] = fresh(failed)
    # Started three weeks ago and late: slip on the timeline, milestones of every kind.
    today = timezone.localdate()
    late = train_in("construction", people, **schedule(today - timedelta(days=20), step=9))
    for name, due, reached in [
        ("Design frozen", today - timedelta(days=15), True),
        ("Test data ready", today - timedelta(days=3), False),
        ("Go/no-go", today + timedelta(days=12), False),
    ]:
        milestone = services.milestone_add(
            train=late, by=people["manager"], name=name, due_date=due
        )
        if reached:
            services.milestone_reach(milestone=milestone, by=people["manager"])
    trains["construction_late"] = fresh(late)
    for train in trains.values():
        services.train_grant(train=fresh(train), by=people["manager"], user=stakeholder)
    return trains


def test_screenshots_of_the_dashboard_in_every_state(visitor: Visitor, train_in_every_state):
    """Wide and phone screenshots of every state, as the manager and as a stakeholder; on
    a phone the status banner is the first thing under the title and nothing is wider
    than the screen."""
    for username in ("manager", "stakeholder"):
        for size, viewport in (("wide", None), ("phone", PHONE)):
            page = visitor.sign_in(username, viewport=viewport)
            for name, train in train_in_every_state.items():
                page.goto(f"/trains/{train.pk}/")
                banner = page.locator("#status")
                expect(banner).to_be_visible()
                expect(page.get_by_role("heading", level=1)).to_have_text(train.name)
                screenshot(page, f"dashboard-{name}-{username}-{size}")
                if size == "phone":
                    page.locator("#timeline").screenshot(
                        path=str(SCREENSHOTS / f"timeline-{name}-{username}-phone.png")
                    )
                    # what a phone shows first, without scrolling
                    page.screenshot(
                        path=str(
                            SCREENSHOTS / f"dashboard-{name}-{username}-phone-first-screen.png"
                        )
                    )
                    assert horizontal_overflow(page) <= 0, (name, username)
                    title = page.get_by_role("heading", level=1).bounding_box()
                    first_below = page.evaluate(
                        """() => {
                          const title = document.querySelector('main h1');
                          const below = [...document.querySelectorAll(
                            '#train-header > *, main > section, main > div')]
                            .filter(e => e.getBoundingClientRect().height > 0
                                      && e.getBoundingClientRect().top
                                         >= title.getBoundingClientRect().bottom);
                          below.sort((a, b) => a.getBoundingClientRect().top
                                               - b.getBoundingClientRect().top);
                          return below.length ? below[0].id : null;
                        }"""
                    )
                    assert title is not None and first_below == "status", (name, first_below)
