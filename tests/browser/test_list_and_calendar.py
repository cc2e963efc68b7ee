"""The trains list and the calendar on a phone and on a desk: a card per train at 390 px,
nothing wider than the screen whatever the names, the calendar's bars and marks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.support import PHONE, Visitor, horizontal_overflow, screenshot
from tests.factories import drive, make_train, schedule, scope
from trains import services

pytestmark = pytest.mark.browser

LONG = "Unbroken" + "x" * 112  # 120 characters without a space


@pytest.fixture
def trains(people):
    """Trains of every kind for the manager: one waiting for them, one blocked, one with
    a 120-character name, one closed, one cancelled; milestones done and overdue."""
    manager, owner = people["manager"], people["owner"]
    today = timezone.localdate()
    ready = make_train(manager, name="Ready to start", **schedule(today - timedelta(days=3)))
    scope(ready, manager=manager, owner=owner)
    services.milestone_add(
        train=ready, by=manager, name="Kick-off", due_date=today - timedelta(days=2)
    )
    # Due the same day as the kick-off: the calendar test opens that day's month, which
    # then shows both whatever today is (a day later was in the next month on a month's
    # last Sunday, and the kick-off in the last month on its 1st).
    reached = services.milestone_add(
        train=ready, by=manager, name="Plan agreed", due_date=today - timedelta(days=2)
    )
    services.milestone_reach(milestone=reached, by=manager)
    make_train(manager, name=LONG, purpose=LONG * 3)
    make_train(manager, name="Blocked")
    drive(make_train(manager, name="Closed train"), "closed", **people)
    cancelled = make_train(manager, name="Cancelled train")
    services.train_transition(train=cancelled, name="cancel", by=manager, reason=LONG)
    return ready


def test_the_list_is_a_card_per_train_on_a_phone(visitor: Visitor, trains):
    page = visitor.sign_in("manager", viewport=PHONE)
    # What needs the manager comes first.
    expect(page.get_by_role("link", name="Needs my action")).to_have_attribute(
        "aria-current", "page"
    )
    cards = page.locator(".train-card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Your move: Start construction")
    expect(page.locator(".train-table")).to_be_hidden()
    screenshot(page, "list-needs-phone-390px")
    for path in ("/trains/?show=open", "/trains/?show=all"):
        page.goto(path)
        cards = page.locator(".train-card")
        expect(cards.first).to_be_visible()
        expect(page.locator(".train-table")).to_be_hidden()
        widths = cards.evaluate_all("cards => cards.map(c => c.getBoundingClientRect().right)")
        assert max(widths) <= PHONE["width"], path
        assert horizontal_overflow(page) <= 0, path
    expect(page.locator(".train-card")).to_have_count(5)  # all: five trains, five cards
    screenshot(page, "list-all-phone-390px")


def test_nothing_is_wider_than_a_phone_on_the_list_and_the_calendar(visitor: Visitor, trains):
    page = visitor.sign_in("manager", viewport=PHONE)
    month = f"{timezone.localdate():%Y-%m}"
    overflow = {}
    for path in (
        "/trains/",
        "/trains/?show=open",
        "/trains/?show=closed",
        "/trains/?show=all",
        f"/calendar/?month={month}",
        f"/calendar/?month={month}&show=all",
    ):
        page.goto(path)
        overflow[path] = horizontal_overflow(page)
    screenshot(page, "calendar-all-phone-390px")
    assert {p: px for p, px in overflow.items() if px > 0} == {}


def test_the_calendar_shows_windows_and_keeps_marks_on_a_desk(visitor: Visitor, trains):
    page = visitor.sign_in("manager")
    milestones = timezone.localdate() - timedelta(days=2)  # the fixture's milestones' day
    page.goto(f"/calendar/?month={milestones:%Y-%m}")
    expect(page.locator(".calendar-bar").filter(has_text="Ready to start").first).to_be_visible()
    late = page.get_by_title("Ready to start: Kick-off (overdue)")
    done = page.get_by_title("Ready to start: Plan agreed (done)")
    for entry, mark in ((late, "⚠"), (done, "✓")):
        expect(entry.locator(".entry-mark")).to_have_text(mark)
        # the mark is inside the part of the entry that shows, however the text is cut
        box, mark_box = entry.bounding_box(), entry.locator(".entry-mark").bounding_box()
        assert (
            box["x"] <= mark_box["x"]
            and mark_box["x"] + mark_box["width"] <= box["x"] + box["width"]
        )
    expect(page.get_by_role("list", name="Legend")).to_contain_text("Overdue")
    screenshot(page, "calendar-desktop")
    page.goto("/trains/?show=all")
    expect(page.locator(".train-cards")).to_be_hidden()
    expect(page.get_by_role("row")).to_have_count(6)  # the head and five trains
    assert horizontal_overflow(page) <= 0
    screenshot(page, "list-all-desktop")
