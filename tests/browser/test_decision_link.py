"""An executive decides from the approval-request mail: the Approve link, as the outbox
kept the mail, opens a page that shows what is decided; confirming approves the train."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import PHONE, Visitor, screenshot
from tests.factories import drive, fresh, make_train
from trains.choices import NotificationKind, NotificationStatus
from trains.models import Notification
from trains.notifications import services as notifications

pytestmark = pytest.mark.browser


def _approve_link_from_the_outbox(train, executive) -> str:
    notifications.notifications_send()
    sent = Notification.objects.get(
        train=train,
        recipient=executive,
        kind=NotificationKind.APPROVAL_REQUESTED,
        event__transition="request_executive_approval",
    )
    assert sent.status == NotificationStatus.SENT
    found = re.search(r"^Approve: https?://[^/]+(/approvals/link/\S+/)$", sent.body, re.M)
    assert found, sent.body
    return found.group(1)


def test_approve_from_the_mails_link_as_the_executive(visitor: Visitor, people):
    train, *_ = drive(
        make_train(people["manager"], name="June train"), "executive_approval", **people
    )
    link = _approve_link_from_the_outbox(train, people["executive"])

    page = visitor.sign_in("executive")
    page.goto(link)
    expect(page.get_by_role("heading", name="Approve June train?")).to_be_visible()
    expect(page.get_by_role("heading", name="Exit criteria")).to_be_visible()
    expect(page.get_by_role("heading", name="Application releases")).to_be_visible()
    assert fresh(train).state == "executive_approval"  # opening it changed nothing
    page.get_by_role("button", name="Approve June train").click()
    expect(page.locator("#link-decided")).to_contain_text("The train is now in deployment")
    assert fresh(train).state == "deployment"

    page.goto(link)  # a second time: used
    expect(page.get_by_role("heading", name="This link was already used")).to_be_visible()


def test_someone_else_signed_in_is_refused_and_the_page_fits_a_phone(visitor: Visitor, people):
    train, *_ = drive(make_train(people["manager"]), "executive_approval", **people)
    link = _approve_link_from_the_outbox(train, people["executive"])
    page = visitor.sign_in("engineer", viewport=PHONE)
    page.goto(link)
    expect(page.get_by_role("heading", name="This link is for someone else")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    visitor.close()
    page = visitor.sign_in("executive", viewport=PHONE)
    page.goto(link)
    expect(page.get_by_role("button", name=re.compile("^Approve "))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "decision-link-phone")
    assert fresh(train).state == "executive_approval"
