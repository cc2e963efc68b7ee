"""A release misses its train: its release manager moves it to the next one from the
train's page, confirms leaving the train empty, and sees it on the other train."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.support import PHONE, Visitor, flash, screenshot
from tests.factories import make_train, scope

pytestmark = pytest.mark.browser


def test_move_a_release_to_the_next_train(visitor: Visitor, manager, owner, executive):
    march = make_train(manager, name="March train")
    _d, _e, (release,) = scope(march, manager=manager, owner=owner, releases=1)
    april = make_train(manager, name="April train")
    page = visitor.sign_in("manager")
    page.goto(f"/trains/{march.pk}/")
    page.locator("#releases").get_by_role("link", name=f"Move {release}").click()

    expect(page.locator("#move-last")).to_contain_text("last application release on March train")
    page.get_by_label("Move to train").select_option(value=str(april.pk))
    page.get_by_label("Reason").fill("QA found a blocker; it takes the April train")
    page.get_by_role("button", name=f"Move {release}").click()
    expect(page.get_by_text("Confirm to move it anyway")).to_be_visible()

    page.get_by_label("Yes, leave this train with no application release").check()
    page.get_by_role("button", name=f"Move {release}").click()
    expect(flash(page)).to_contain_text(f"{release} moved to April train.")
    expect(page.locator("#releases")).to_contain_text("No application release on this train yet")
    expect(page.locator("#history")).to_contain_text(f"Moved {release} to April train")

    page.goto(f"/trains/{april.pk}/")
    expect(page.locator("#releases")).to_contain_text(str(release))
    expect(page.locator("#history")).to_contain_text(f"{release} moved here from March train")


def test_move_page_fits_a_phone(visitor: Visitor, manager, owner, executive):
    march = make_train(manager, name="March train")
    _d, _e, (release, _other) = scope(march, manager=manager, owner=owner, releases=2)
    make_train(manager, name="April train")
    page = visitor.sign_in("manager", viewport=PHONE)
    page.goto(f"/trains/{march.pk}/releases/{release.pk}/move/")
    expect(page.get_by_role("heading", name=f"Move {release} to another train")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "release-move-phone")
