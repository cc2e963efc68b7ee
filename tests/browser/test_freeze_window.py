"""A release engineer deploys into a freeze window and is refused with its name: the
manager adds the window on the freeze page while the engineer has the train open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.support import Visitor, flash, screenshot
from tests.factories import drive, fresh, make_train

pytestmark = pytest.mark.browser


def test_deploy_into_a_freeze_window_and_be_refused(visitor: Visitor, browser, live_server, people):
    train, *_ = drive(make_train(people["manager"], name="Winter train"), "deployment", **people)
    today = timezone.localdate()

    # The engineer opens the train: nothing blocks the deployment yet.
    engineer = visitor.sign_in("engineer")
    engineer.goto(f"/trains/{train.pk}/")
    status = engineer.locator("#status")
    expect(status.get_by_text("Record deployment…")).to_be_visible()

    # Meanwhile the manager adds a freeze window that covers today.
    manager_visitor = Visitor(browser, live_server.url)
    manager = manager_visitor.sign_in("manager")
    manager.goto("/freezes/")
    manager.get_by_label("Name").fill("Year-end freeze")
    manager.get_by_label("Start").fill(f"{today - timedelta(days=1):%Y-%m-%d}")
    manager.get_by_label("End").fill(f"{today + timedelta(days=5):%Y-%m-%d}")
    manager.get_by_label("Reason").fill("Peak trading")
    manager.get_by_role("button", name="Add freeze window").click()
    expect(flash(manager)).to_contain_text("Freeze window Year-end freeze")
    manager_visitor.close()

    # The engineer records the deployment and is refused with the window's name.
    status.get_by_text("Record deployment…").click()
    status.get_by_label("Succeeded — close the train").check()
    status.get_by_role("button", name="Record deployment").click()
    expect(flash(engineer)).to_contain_text("Deployments are frozen: Year-end freeze")
    assert fresh(train).state == "deployment"
    expect(
        engineer.locator("#status").get_by_role("button", name="Record deployment")
    ).to_be_disabled()
    expect(engineer.locator("#status")).to_contain_text("Year-end freeze")
    screenshot(engineer, "freeze-refused-engineer")

    # The calendar shows the window.
    engineer.goto("/calendar/")
    expect(engineer.locator(".calendar-windows .calendar-bar.freeze").first).to_contain_text(
        "Year-end freeze"
    )
