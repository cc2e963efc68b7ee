"""Under the Content-Security-Policy the pages load without a single violation, and
htmx still swaps panels in place (no inline script, style or eval is needed)."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, expect

from tests.browser.support import Visitor
from tests.factories import drive, make_train

pytestmark = pytest.mark.browser

QA_SIGN_OFF = "QA sign-off: regression and acceptance tests passed"


def test_pages_and_htmx_work_without_csp_violations(
    visitor: Visitor, manager, owner, qa, executive, engineer
):
    train, *_ = drive(
        make_train(manager),
        "verification",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    page = visitor.sign_in("manager")
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", watch)
    for path in ("/trains/", "/trains/new/", "/calendar/", "/approvals/", "/applications/"):
        page.goto(path)
        expect(page.locator("main h1").first).to_be_visible()
    page.goto(f"/trains/{train.pk}/")
    page.evaluate("window.__notReloaded = true")
    page.get_by_role("button", name=f"Untick {QA_SIGN_OFF}").click()
    expect(page.get_by_role("button", name=f"Tick {QA_SIGN_OFF}")).to_be_visible()
    assert page.evaluate("window.__notReloaded") is True  # swapped by htmx, not reloaded
    # Bootstrap's own JavaScript (the collapsing menu at phone width) also runs.
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("button", name="Toggle navigation").click()
    expect(page.get_by_role("link", name="Calendar")).to_be_visible()
    # A secret to copy selects itself on a click (static/js/app.js, no onclick=).
    page.goto("/profile/")
    page.get_by_role("button", name="Make my feed URL").click()
    page.get_by_label("Feed URL").click()
    selected = page.evaluate(
        "() => { const f = document.getElementById('feed-url');"
        " return f.selectionEnd - f.selectionStart === f.value.length && f.value.length > 0; }"
    )
    assert selected is True
    # The API docs: Swagger UI starts from a script file, not an inline one.
    page.goto("/api/docs/")
    expect(page.get_by_role("heading", name="releasemgr API")).to_be_visible()
    expect(page.get_by_text("/api/v1/trains/").first).to_be_visible()
    assert violations == []
