"""The portfolio and the metrics page in a browser, wide and on a phone: the charts are
drawn, a value shows on hover, nothing is wider than a phone's screen."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.support import PHONE, Visitor, horizontal_overflow, screenshot
from tests.factories import drive, make_train, schedule
from tests.trains.test_metrics import history  # noqa: F401 - the known history
from trains import services
from trains.choices import TrainType

pytestmark = pytest.mark.browser

METRICS = "/metrics/?first=2025-01-01&last=2025-03-31"


@pytest.fixture
def running(people):
    manager = people["manager"]
    today = timezone.localdate()
    # Every window holds today, so that all five show in today's quarter whatever the
    # date (trains starting next week fell into the next quarter on 31 December).
    for i, (kind, offset) in enumerate(
        [
            (TrainType.MAJOR, -30),
            (TrainType.MINOR, -20),
            (TrainType.PATCH, -5),
            (TrainType.MINOR, 0),
        ]
    ):
        train = make_train(
            manager,
            name=f"Train {i} of the quarter",
            train_type=kind,
            **schedule(today + timedelta(days=offset), step=9),
        )
        services.milestone_add(
            train=train,
            by=manager,
            name="Code freeze",
            due_date=today + timedelta(days=offset + 12),
        )
    drive(
        make_train(manager, name="Under way", **schedule(today - timedelta(days=10))),
        "verification",
        **people,
    )


def test_the_portfolio_wide_and_on_a_phone(visitor: Visitor, running):
    page = visitor.sign_in("manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Portfolio").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Portfolio · Q")
    rows = page.locator(".pf-row:not(.pf-head)")
    expect(rows).to_have_count(5)
    expect(page.locator(".pf-today-label")).to_contain_text("Today")
    # a phase segment says what it is on hover (the first drawn is not always scoping:
    # on a quarter's first day, the older trains show only their later phases)
    scoping = page.locator("rect.pf-phase title").filter(has_text="Scoping").first
    expect(scoping).to_contain_text(re.compile(r"of the quarter: Scoping \d{4}-\d\d-\d\d to "))
    screenshot(page, "portfolio-wide")
    page.get_by_role("link", name="Year").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(str(timezone.localdate().year))
    page.get_by_role("link", name="Release manager").click()
    expect(page.locator(".pf-group").first).to_contain_text("manager")
    page.get_by_role("link", name="Under way").first.click()
    expect(page.locator("#train-header")).to_contain_text("Under way")

    page = visitor.sign_in("manager", viewport=PHONE)
    page.goto("/portfolio/")
    expect(page.locator(".pf-row:not(.pf-head)").first).to_be_visible()
    assert horizontal_overflow(page) == 0
    screenshot(page, "portfolio-phone-390px")


def test_metrics_wide_and_on_a_phone(visitor: Visitor, history):  # noqa: F811
    page = visitor.sign_in("manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Metrics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delivery metrics")
    page.goto(METRICS)
    expect(page.locator("svg.chart-svg")).to_have_count(7)
    expect(page.locator("#on-time .metric-number")).to_have_text("38% of 8 phases on time")
    expect(page.locator("#on-time rect.chart-bar title").first).to_have_text(
        "Jan 2025, On time: 33% (1 of 3 phases)"
    )
    screenshot(page, "metrics-wide")
    page.get_by_label("From", exact=True).fill("2024-01-01")
    page.get_by_label("To", exact=True).fill("2024-02-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".metric-empty")).to_have_count(7)

    page = visitor.sign_in("manager", viewport=PHONE)
    page.goto(METRICS)
    expect(page.locator("svg.chart-svg")).to_have_count(7)
    assert horizontal_overflow(page) == 0
    screenshot(page, "metrics-phone-390px")


def test_stakeholders_see_the_portfolio_but_no_metrics(visitor: Visitor, stakeholder):
    page = visitor.sign_in("stakeholder")
    main = page.get_by_role("navigation", name="Main")
    expect(main.get_by_role("link", name="Portfolio")).to_be_visible()
    expect(main.get_by_role("link", name="Metrics")).to_have_count(0)
