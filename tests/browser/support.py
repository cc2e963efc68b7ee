"""What the browser tests share: the Chromium launch, a signed-in visitor, screenshots,
and small readers of what a person sees on a page."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "pw"  # UserFactory's password (tests/factories.py)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000


class Visitor:
    """One person at a time, in a fresh browser context, signed in through the login page."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.context: BrowserContext | None = None

    def sign_in(self, username: str, *, javascript: bool = True, viewport=None) -> Page:
        self.close()
        self.context = self.browser.new_context(
            base_url=self.base_url, viewport=viewport or DESKTOP, java_script_enabled=javascript
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        page = self.context.new_page()
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{self.base_url}/trains/")
        expect(nav(page)).to_contain_text(username)
        return page

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def go(page: Page, label: str) -> None:
    """Follow a link of the navigation bar, and wait until the page it opens has loaded,
    its styles too: before them the trains list's table and its phone cards both show
    (a click waits only for the page to begin, and with the clock frozen before the
    static files' dates the browser asks for the styles again on every page)."""
    with page.expect_navigation(wait_until="load"):
        nav(page).get_by_role("link", name=label).click()


def state_badge(page: Page) -> Locator:
    return page.locator("#train-header .badge").first


def flash(page: Page) -> Locator:
    return page.locator("#messages")


def unlabelled_fields(page: Page) -> list[str]:
    """Form fields a screen reader could not name: no <label>, aria-label or -labelledby."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, textarea'))
            .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type))
            .filter(el => !(el.labels && el.labels.length)
                          && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby'))
            .map(el => el.outerHTML.slice(0, 160))"""
    )


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )
