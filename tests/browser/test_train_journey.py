"""One new train from submission to closed, each person acting from the train's page (or
the approvals inbox), never from an address typed by hand.

The manager submits and scopes the train; the owner develops its releases from the
banner; the manager rejects at the development gate, the owner reopens a release from
its row, the manager approves the second round; QA confirms the sign-off; the executive
rejects, then approves from the inbox; the owner hands over, the engineer rejects one
turnover and accepts the resubmitted one in the releases panel and deploys (a failure,
then success). At each step the acting person's status banner says what happens next,
and a stakeholder who follows the train reads the same words with nothing to press.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from tests.browser.support import (
    PHONE,
    Visitor,
    flash,
    go,
    horizontal_overflow,
    nav,
    screenshot,
    state_badge,
)

pytestmark = pytest.mark.browser

TRAIN = "Autumn feature train"
BILLING, PORTAL = "Billing 2.0.0", "Portal 5.1.0"
RELEASES = [BILLING, PORTAL]
QA_SIGN_OFF = "QA sign-off: regression and acceptance tests passed"
TODAY = "{:%Y-%m-%d}"


@pytest.fixture
def sign_in(visitor: Visitor) -> Iterator:
    """Each person in a browser context of their own, kept open: they come back to the
    train's page and reload it, as a person keeps a tab open."""
    contexts: list[Visitor] = []

    def open_as(username: str, **kwargs) -> Page:
        person = Visitor(visitor.browser, visitor.base_url)
        contexts.append(person)
        return person.sign_in(username, **kwargs)

    yield open_as
    for person in contexts:
        person.close()


def banner(page: Page) -> Locator:
    return page.locator("#status")


def says(page: Page, *words: str) -> None:
    for text in words:
        expect(banner(page)).to_contain_text(text)


def nothing_to_press(page: Page) -> None:
    expect(banner(page).locator("form, button, a.btn")).to_have_count(0)


def follows(page: Page, *words: str) -> None:
    """The stakeholder reloads the train's page: the same words, nothing to press."""
    page.reload()
    says(page, *words)
    nothing_to_press(page)


def open_train(page: Page) -> None:
    go(page, "Trains")
    page.get_by_role("link", name=TRAIN).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TRAIN)


def press(page: Page, name: str) -> None:
    """Press the banner's button."""
    banner(page).get_by_role("button", name=name).click()


def above(first: Locator, second: Locator) -> bool:
    return first.bounding_box()["y"] < second.bounding_box()["y"]


def register_application(page: Page, name: str, version: str) -> None:
    go(page, "Applications")
    form = page.locator("form").filter(has=page.get_by_role("button", name="Register"))
    form.get_by_label("Name").fill(name)
    form.get_by_label("Description").fill(f"{name}, registered from the browser test.")
    expect(form.get_by_label("Product owner")).to_have_value(re.compile(r"\d+"))
    form.get_by_role("button", name="Register").click()
    expect(flash(page)).to_contain_text(f"Application {name} registered.")
    page.get_by_label("Version").fill(version)
    page.get_by_role("button", name="Add release").click()
    expect(flash(page)).to_contain_text(f"Release {name} {version} added.")


def submit_train(page: Page) -> None:
    today = timezone.localdate()
    go(page, "New train")
    expect(page.get_by_role("heading", level=1)).to_have_text("Submit a release train")
    page.get_by_label("Name").fill(TRAIN)
    page.get_by_label("Type").select_option(label="Minor")
    page.get_by_label("Purpose").fill("Billing and portal features for the autumn.")
    expect(page.get_by_label("Primary release manager")).to_have_value(re.compile(r"\d+"))
    page.get_by_label("Start date").fill(today.isoformat())
    page.get_by_label("End date").fill((today - timedelta(days=1)).isoformat())
    for days, phase in enumerate(["Scoping", "Construction", "Verification", "Deployment"], 1):
        page.get_by_label(f"{phase} ends").fill((today + timedelta(days=7 * days)).isoformat())

    # A wrong window is refused on its field; nothing is saved.
    page.get_by_role("button", name="Submit train").click()
    expect(page.get_by_text("The train cannot end before it starts.")).to_be_visible()
    expect(page.get_by_label("End date")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.get_by_label("Name")).to_have_value(TRAIN)

    page.get_by_label("End date").fill((today + timedelta(days=35)).isoformat())
    page.get_by_role("button", name="Submit train").click()
    expect(flash(page)).to_contain_text(f"Train {TRAIN} submitted.")
    expect(state_badge(page)).to_have_text("Scoping")


def scope_train(page: Page, manager) -> None:
    """Releases, approvers, an extra criterion and a stakeholder; the banner follows."""
    start = banner(page).get_by_role("button", name="Start construction")
    expect(start).to_be_disabled()
    expect(start).to_have_accessible_description(re.compile("2 scoping exit criteria unmet"))
    says(page, "Being scoped", "Next: Start construction", "waiting on manager")
    says(page, "no application release is on the train")
    expect(page.locator("#actions").get_by_role("button", name="Start construction")).to_have_count(
        0
    )

    for release in RELEASES:
        page.get_by_label("Add an application release").select_option(label=release)
        page.get_by_role("button", name="Add to train").click()
        expect(flash(page)).to_contain_text(f"{release} added to the train.")
    expect(page.locator("#releases li")).to_have_count(2)

    approvals = page.locator("#approvals")
    executives = Group.objects.get(name="executives")
    for gate, approver in [
        ("development", f"user:{manager.pk}"),
        ("executive", f"group:{executives.pk}"),
    ]:
        approvals.get_by_text("Add an approver").click()
        approvals.get_by_label("Gate").select_option(gate)
        approvals.get_by_label("Approver").select_option(approver)
        approvals.get_by_role("button", name="Add", exact=True).click()
        expect(flash(page)).to_contain_text("Approval requirement added.")
    expect(start).to_be_enabled()  # nothing is missing any more: the banner came along

    # A criterion of our own: the step waits for it, by name.
    criteria = page.locator("#criteria")
    criteria.get_by_text("Add an exit criterion").click()
    expect(criteria.get_by_label("Phase")).to_have_value("scoping")
    criteria.get_by_label("Description").fill("Scope agreed with the stakeholders")
    criteria.get_by_role("button", name="Add", exact=True).click()
    expect(flash(page)).to_contain_text("Exit criterion added.")
    expect(start).to_be_disabled()
    expect(start).to_have_accessible_description(re.compile("1 scoping exit criterion unmet"))
    says(page, "Scope agreed with the stakeholders: not checked yet")
    criteria.get_by_role("button", name="Tick Scope agreed with the stakeholders").click()
    expect(start).to_be_enabled()  # the banner came along with the panel

    access = page.locator("#access")
    access.get_by_label("User name").fill("stakeholder")
    access.get_by_label("Access").select_option("view")
    access.get_by_role("button", name="Share").click()
    expect(flash(page)).to_contain_text("stakeholder may now view this train.")


def test_one_train_from_submission_to_closed(
    sign_in, manager, owner, qa, executive, engineer, stakeholder
):
    today = TODAY.format(timezone.localdate())

    # The product owner registers the applications and their releases.
    owner_page = sign_in("owner")
    register_application(owner_page, "Billing", "2.0.0")
    register_application(owner_page, "Portal", "5.1.0")

    # The release manager submits the train and scopes it; the banner says what is missing.
    m = sign_in("manager")
    submit_train(m)
    screenshot(m, "journey-01-scoping-manager")
    scope_train(m, manager)

    s = sign_in("stakeholder")
    open_train(s)
    follows(s, "Being scoped", "Next: Start construction", "waiting on manager", f"since {today}")

    press(m, "Start construction")
    expect(flash(m)).to_contain_text("Start construction: done.")
    expect(state_badge(m)).to_have_text("Construction")
    says(m, "In construction", "Next: Request development approval", "waiting on owner")
    says(m, "2 of 2 application releases are not development-complete")
    expect(banner(m).get_by_role("button", name="Request development approval")).to_be_disabled()
    follows(s, "In construction", "waiting on owner")

    # The owner develops both releases from the banner; the last one asks for approval.
    o = owner_page
    open_train(o)
    expect(nav(o).get_by_role("link", name=re.compile("Applications"))).to_contain_text("2")
    says(o, f"Your release {BILLING} waits for you (and 1 more in the releases below).")
    screenshot(o, "journey-02-construction-owner")
    for release in RELEASES:
        press(o, f"Start development of {release}")
        expect(flash(o)).to_contain_text(f"{release}: start development — done.")
        press(o, f"Mark development complete for {release}")
    expect(state_badge(o)).to_have_text("Development approval")  # the page reloaded
    says(o, "Waiting for development approval", "waiting on manager")
    nothing_to_press(o)
    follows(s, "Waiting for development approval", "Next: Verification, once approved")

    # The manager rejects at the development gate, from the banner: a reason first.
    m.reload()
    expect(nav(m).get_by_role("link", name=re.compile("Approvals"))).to_contain_text("1")
    says(m, "Your decision as manager")
    screenshot(m, "journey-03-development-approval-manager")
    press(m, "Reject")
    expect(flash(m)).to_contain_text("A rejection needs a reason.")
    expect(state_badge(m)).to_have_text("Development approval")
    banner(m).get_by_label("Comment (needed to reject)").fill("Portal 5.1.0 fails the smoke test")
    press(m, "Reject")
    expect(state_badge(m)).to_have_text("Construction")
    says(m, f"Rejected at development approval by manager on {today}")
    says(m, "“Portal 5.1.0 fails the smoke test”")
    follows(s, "Rejected at development approval", "Portal 5.1.0 fails the smoke test")

    # The owner reads why, opens the release from its row and comes back by its train's
    # link, reopens it from its row and completes it from the banner: round two.
    o.reload()
    says(o, "Rejected at development approval", "Portal 5.1.0 fails the smoke test")
    releases = o.locator("#releases")
    releases.get_by_role("link", name=PORTAL).click()
    expect(o.get_by_role("heading", level=1)).to_have_text("Portal")
    o.get_by_role("link", name=TRAIN).click()
    releases.get_by_role("button", name=f"Reopen development of {PORTAL}").click()
    expect(flash(o)).to_contain_text(f"{PORTAL}: reopen development — done.")
    says(o, f"Your release {PORTAL} waits for you.")
    press(o, f"Mark development complete for {PORTAL}")
    expect(state_badge(o)).to_have_text("Development approval")

    # The manager approves round two from the banner; verification waits for QA.
    m.reload()
    press(m, "Approve")
    expect(state_badge(m)).to_have_text("Verification")
    expect(flash(m)).to_contain_text(f"Approved: {TRAIN}.")
    says(m, "In verification", "Next: Request executive approval", "waiting on QA")
    request = banner(m).get_by_role("button", name="Request executive approval")
    expect(request).to_be_disabled()
    expect(request).to_have_accessible_description(re.compile("1 verification exit criterion"))
    expect(m.locator("#approvals")).to_contain_text("Earlier rounds (1 decision)")
    follows(s, "In verification", "waiting on QA")

    # QA confirms the sign-off from the banner; the step is the manager's again.
    q = sign_in("qa")
    open_train(q)
    says(q, f"Yours to confirm: {QA_SIGN_OFF}")
    press(q, "Mark as met")
    says(q, "Next: Request executive approval", "waiting on manager")
    nothing_to_press(q)
    follows(s, "In verification", "waiting on manager")

    # The manager asks for executive approval.
    m.reload()
    press(m, "Request executive approval")
    expect(flash(m)).to_contain_text("Request executive approval: done.")
    says(m, "Waiting for executive approval", "0 of 1 approvals")
    follows(s, "Waiting for executive approval", "Next: Deployment, once approved")

    # The executive goes from the inbox to the train and rejects it there, with a reason.
    x = sign_in("executive")
    approvals_link = nav(x).get_by_role("link", name=re.compile("Approvals"))
    expect(approvals_link).to_contain_text("1")
    approvals_link.click()
    x.locator("article").filter(has_text=TRAIN).get_by_role("link", name=TRAIN).click()
    says(x, "Waiting for executive approval", "Your decision as")
    banner(x).get_by_label("Comment (needed to reject)").fill("Too risky this week")
    press(x, "Reject")
    expect(state_badge(x)).to_have_text("Verification")
    says(x, "Rejected at executive approval by executive", "“Too risky this week”")

    # The manager sees the rejection first, above the step that is enabled again.
    m.reload()
    says(m, "In verification", f"Rejected at executive approval by executive on {today}")
    refusal = banner(m).locator(".status-refusal")
    request = banner(m).get_by_role("button", name="Request executive approval")
    expect(request).to_be_enabled()
    assert above(refusal, request)
    screenshot(m, "journey-04-after-executive-rejection-manager")
    follows(s, "In verification", "Rejected at executive approval", "Too risky this week")
    request.click()
    expect(state_badge(m)).to_have_text("Executive approval")
    follows(s, "Waiting for executive approval", "(the last round)", "Too risky this week")

    # The executive approves from the inbox this time.
    go(x, "Approvals")
    item = x.locator("article").filter(has_text=TRAIN)
    expect(item).to_contain_text("Executive approval · round 2")
    screenshot(x, "journey-05-inbox-executive")
    item.get_by_role("button", name="Approve").click()
    expect(flash(x)).to_contain_text(f"Approved: {TRAIN}.")
    expect(x.get_by_text("Nothing waits for your decision.")).to_be_visible()

    # The owner hands both releases over from the banner.
    o.reload()
    expect(state_badge(o)).to_have_text("Deployment")
    for release in RELEASES:
        says(o, f"Your release {release} waits for you")
        banner(o).get_by_label(f"What is delivered in {release}").fill(f"{release}: packages")
        press(o, f"Submit turnover of {release}")
        expect(flash(o)).to_contain_text(
            f"Turnover of {release} submitted to the release engineers."
        )
    nothing_to_press(o)
    follows(s, "Ready for deployment", "Next: Record deployment")

    # The engineer reviews the turnovers in the releases panel: rejects one, accepts one.
    e = sign_in("engineer")
    expect(nav(e).get_by_role("link", name=re.compile("Applications"))).to_contain_text("2")
    open_train(e)
    says(e, f"Turnovers to review: {BILLING}, {PORTAL}")
    screenshot(e, "journey-06-deployment-engineer")
    banner(e).get_by_role("link", name="Review turnovers below").click()
    releases = e.locator("#releases")
    portal_row = releases.locator("li").filter(has_text=PORTAL)
    portal_row.get_by_text("Reject…").click()
    portal_row.get_by_label("Reason").fill("Runbook missing")
    portal_row.get_by_role("button", name=f"Reject turnover of {PORTAL}").click()
    expect(flash(e)).to_contain_text(f"Turnover of {PORTAL} rejected.")
    releases.get_by_role("button", name=f"Accept turnover of {BILLING}").click()
    expect(flash(e)).to_contain_text(f"Turnover of {BILLING} accepted.")
    deploy = banner(e).get_by_role("button", name="Record deployment")
    expect(deploy).to_be_disabled()
    says(e, "1 of 2 application releases have no accepted turnover")

    # The owner reads why and hands it over again; the engineer accepts it.
    o.reload()
    portal_row = o.locator("#releases li").filter(has_text=PORTAL)
    expect(portal_row).to_contain_text("“Runbook missing”")
    banner(o).get_by_label(f"What is delivered in {PORTAL}").fill("packages and the runbook")
    press(o, f"Submit turnover of {PORTAL}")
    expect(flash(o)).to_contain_text(f"Turnover of {PORTAL} submitted")

    e.reload()
    says(e, f"Turnover to review: {PORTAL}")
    releases.get_by_role("button", name=f"Accept turnover of {PORTAL}").click()
    expect(flash(e)).to_contain_text(f"Turnover of {PORTAL} accepted.")
    # Only the latest turnover shows; the rejected one is behind a disclosure.
    portal_row = e.locator("#releases li").filter(has_text=PORTAL)
    latest = portal_row.locator("div.small").first
    expect(latest).to_contain_text("Accepted")
    expect(latest).not_to_contain_text("Rejected")
    expect(portal_row.locator("details").first).to_contain_text("Earlier turnovers (1)")

    # A failed deployment keeps the train in deployment; a successful one closes it.
    for outcome, log, message in [
        ("Failed — stay in deployment", "migration timed out", "Deployment failure recorded"),
        ("Succeeded — close the train", "all green", "Deployment succeeded"),
    ]:
        banner(e).get_by_text("Record deployment…").click()
        banner(e).get_by_label(outcome).check()
        banner(e).get_by_label("Log").fill(log)
        press(e, "Record deployment")
        expect(flash(e)).to_contain_text(message)
        if outcome.startswith("Failed"):
            expect(state_badge(e)).to_have_text("Deployment")
            says(e, "The last deployment failed")
            follows(s, "Ready for deployment", "The last deployment failed")
            screenshot(e, "journey-07-deployment-failed-engineer")
    expect(state_badge(e)).to_have_text("Closed")
    says(e, "Deployed and closed", f"Closed on {today}")
    expect(e.locator("#deployments")).to_contain_text("Succeeded")
    expect(e.locator("#actions")).to_be_empty()

    # The stakeholder reads the closed train: everything shown, nothing to press.
    follows(s, "Deployed and closed", f"Closed on {today}")
    expect(nav(s).get_by_role("link")).to_have_text(
        ["releasemgr", "Trains", "Calendar", "Portfolio", "Notifications", "Profile"]
    )
    main = s.locator("main")
    expect(main.get_by_role("button")).to_have_count(0)
    expect(main.locator("form")).to_have_count(0)
    expect(main.locator("#access")).to_have_count(0)
    screenshot(s, "journey-08-closed-stakeholder")
    s.set_viewport_size(PHONE)
    s.reload()
    assert horizontal_overflow(s) <= 0
    screenshot(s, "journey-09-closed-stakeholder-phone")
