"""Browser tests: Playwright's sync API driving Debian's Chromium against the live server.

Playwright cannot download a browser here, so it always launches /usr/bin/chromium;
without it these tests skip (scripts/ci-system-packages.sh installs it in CI).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.browser.support import CHROMIUM, LAUNCH_ARGS, TIMEOUT_MS, Visitor

expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(
        reason=f"browser tests need Chromium at {CHROMIUM}; "
        "scripts/ci-system-packages.sh installs it (apt-get install chromium)"
    )
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # While Playwright's sync API is up its event loop counts as running in this thread,
    # and Django refuses database calls from the test body unless told they are safe.
    # They are: the live server answers from its own thread with its own connection.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def visitor(browser: Browser, live_server) -> Iterator[Visitor]:
    visitor = Visitor(browser, live_server.url)
    yield visitor
    visitor.close()
