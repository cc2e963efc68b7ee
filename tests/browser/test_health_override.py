"""A release manager overrides a train's health from its page and sees it lapse on its
expiry date (the clock moved with time-machine, as FREEZE_TODAY does for the suite)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.support import Visitor, flash, screenshot
from tests.factories import make_train, schedule

pytestmark = pytest.mark.browser


def test_a_health_override_shows_who_and_why_then_lapses_on_its_day(visitor: Visitor, manager):
    manager.first_name, manager.last_name = "Maria", "Manager"
    manager.save()
    train = make_train(manager, **schedule(step=10))  # on track: green
    until = timezone.localdate() + timedelta(days=3)
    page = visitor.sign_in("manager")
    page.goto(f"/trains/{train.pk}/")
    header = page.locator("#train-header")
    expect(header).to_contain_text("Health: Green")
    plan = page.locator("#plan")
    plan.get_by_text("Override the health").click()
    plan.get_by_label("Health", exact=True).select_option("red")
    plan.get_by_label("Until (lapses that day)").fill(until.isoformat())
    plan.get_by_label("Reason").fill("Payment provider outage")
    plan.get_by_role("button", name="Set").click()
    expect(flash(page)).to_contain_text(f"Health set to red until {until.isoformat()}")
    expect(header).to_contain_text("Health: Red (set)")
    expect(page.locator("#health-text")).to_contain_text(
        f"set by Maria Manager on {timezone.localdate().isoformat()} until {until.isoformat()}: "
        "Payment provider outage"
    )
    expect(page.locator("#health-text")).to_contain_text("Computed: Green")
    screenshot(page, "health-override")
    page.goto("/trains/?show=open&health=red")
    expect(page.locator("table.train-table")).to_contain_text(train.name)

    # The day before it lapses it holds; on its day the computed health is back, and the
    # list's filter finds no red train any more.
    for day, shown, red in (
        (until - timedelta(days=1), "Health: Red (set)", "1 train"),
        (until, "Health: Green", "0 trains"),
    ):
        with time_machine.travel(datetime.combine(day, time(9), tzinfo=UTC), tick=True):
            page = visitor.sign_in("manager")  # the session ended meanwhile
            page.goto(f"/trains/{train.pk}/")
            expect(page.locator("#train-header")).to_contain_text(shown)
            page.goto("/trains/?show=open&health=red")
            expect(page.locator("#train-count")).to_contain_text(red)
