"""One new train from submission to closed, through the pages alone, each person in turn.

The manager submits and scopes the train, the owner develops its releases, the manager
rejects at the development gate and approves the second round, QA signs off, the
executive approves from the inbox, the owner hands over, the engineer accepts the
turnovers and deploys (a failure, then success), and a stakeholder reads the result.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

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
RELEASES = ["Billing 2.0.0", "Portal 5.1.0"]
QA_SIGN_OFF = "QA sign-off: regression and acceptance tests passed"


def open_train(page: Page) -> None:
    go(page, "Trains")
    page.get_by_role("link", name=TRAIN).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TRAIN)


def open_application(page: Page, name: str) -> None:
    go(page, "Applications")
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


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


def release_step(page: Page, release: str, button: str, done: str) -> None:
    open_application(page, release.split()[0])
    page.get_by_role("button", name=f"{button} {release}").click()
    expect(flash(page)).to_contain_text(f"{release}: {done} — done.")


def submit_train(page: Page) -> None:
    today = timezone.localdate()
    go(page, "New train")
    expect(page.get_by_role("heading", level=1)).to_have_text("Submit a release train")
    screenshot(page, "02-new-train-form")
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


def scope_train(page: Page) -> None:
    """Releases, approvers, an extra criterion and a stakeholder, then construction."""
    actions = page.locator("#actions")
    start = actions.get_by_role("button", name="Start construction")
    expect(start).to_be_disabled()
    expect(start).to_have_accessible_description(re.compile("2 scoping exit criteria unmet"))
    expect(actions).to_contain_text("2 scoping exit criteria unmet")
    expect(actions).to_contain_text("no application release is on the train")
    screenshot(page, "03-dashboard-scoping")

    for release in RELEASES:
        page.get_by_label("Add an application release").select_option(label=release)
        page.get_by_role("button", name="Add to train").click()
        expect(flash(page)).to_contain_text(f"{release} added to the train.")
    expect(page.locator("#releases tbody tr")).to_have_count(2)

    approvals = page.locator("#approvals")
    for gate, approver, shown in [
        ("Development approval", "manager (manager)", "manager"),
        ("Executive approval", "Group: Executives", "1 of group Executives"),
    ]:
        approvals.get_by_text("Add an approver").click()
        approvals.get_by_label("Gate").select_option(label=gate)
        approvals.get_by_label("Approver").select_option(label=approver)
        approvals.get_by_role("button", name="Add", exact=True).click()
        expect(flash(page)).to_contain_text("Approval requirement added.")
        expect(approvals).to_contain_text(shown)

    # A criterion of our own; the step waits for it, by name.
    criteria = page.locator("#criteria")
    criteria.get_by_text("Add an exit criterion").click()
    expect(criteria.get_by_label("Phase")).to_have_value("scoping")
    criteria.get_by_label("Description").fill("Scope agreed with the stakeholders")
    criteria.get_by_role("button", name="Add", exact=True).click()
    expect(flash(page)).to_contain_text("Exit criterion added.")
    expect(start).to_be_disabled()
    expect(actions).to_contain_text("1 scoping exit criterion unmet")
    expect(actions).to_contain_text("Scope agreed with the stakeholders: not checked yet")
    criteria.get_by_role("button", name="Tick Scope agreed with the stakeholders").click()
    expect(criteria).to_contain_text("Checked by manager")
    expect(start).to_be_enabled()

    access = page.locator("#access")
    access.get_by_label("User name").fill("stakeholder")
    access.get_by_label("Access").select_option("view")
    access.get_by_role("button", name="Share").click()
    expect(flash(page)).to_contain_text("stakeholder may now view this train.")
    expect(access).to_contain_text("(stakeholder)")

    start.click()
    expect(flash(page)).to_contain_text("Start construction: done.")
    expect(state_badge(page)).to_have_text("Construction")
    expect(actions.get_by_role("button", name="Request development approval")).to_be_disabled()
    expect(actions).to_contain_text("2 of 2 application releases are not development-complete")


def develop_releases(page: Page) -> None:
    for release in RELEASES:
        release_step(page, release, "Start development of", "start development")
        release_step(page, release, "Mark development complete for", "mark development complete")
    expect(page.get_by_role("link", name=TRAIN)).to_be_visible()
    screenshot(page, "04-applications-owner")
    open_train(page)
    # The last release completed asked for development approval by itself.
    expect(state_badge(page)).to_have_text("Development approval")


def decide_development(page: Page, *, approve: bool, comment: str = "") -> None:
    approvals = page.locator("#approvals")
    approvals.get_by_label("Comment (needed to reject)").fill(comment)
    approvals.get_by_role("button", name="Approve" if approve else "Reject").click()


def test_one_train_from_submission_to_closed(
    visitor: Visitor, manager, owner, qa, executive, engineer, stakeholder
):
    # The product owner registers the applications and their releases.
    page = visitor.sign_in("owner")
    register_application(page, "Billing", "2.0.0")
    register_application(page, "Portal", "5.1.0")

    # The release manager submits the train and scopes it.
    page = visitor.sign_in("manager")
    expect(page.get_by_text("No train matches.")).to_be_visible()
    screenshot(page, "01-trains-list-empty")
    submit_train(page)
    scope_train(page)

    # The product owner develops both releases; the train reaches the development gate.
    page = visitor.sign_in("owner")
    develop_releases(page)
    expect(page.locator("#actions")).to_be_empty()  # no step is the owner's

    # The manager rejects at the development gate: first without a reason, refused.
    page = visitor.sign_in("manager")
    expect(nav(page).get_by_role("link", name=re.compile("Approvals"))).to_contain_text("1")
    open_train(page)
    expect(page.locator("#approvals")).to_contain_text("Development approval · round 1")
    screenshot(page, "05-dashboard-development-approval")
    decide_development(page, approve=False)
    expect(flash(page)).to_contain_text("A rejection needs a reason.")
    expect(state_badge(page)).to_have_text("Development approval")
    decide_development(page, approve=False, comment="Portal 5.1.0 fails the smoke test")
    expect(state_badge(page)).to_have_text("Construction")
    expect(flash(page)).to_contain_text(f"Rejected: {TRAIN}.")
    expect(page.locator("#history")).to_contain_text(
        "Reject development: Development approval → Construction — "
        "Portal 5.1.0 fails the smoke test"
    )

    # The owner reopens the rejected release and completes it again: round two.
    page = visitor.sign_in("owner")
    release_step(page, "Portal 5.1.0", "Reopen development of", "reopen development")
    release_step(page, "Portal 5.1.0", "Mark development complete for", "mark development complete")
    open_train(page)
    expect(state_badge(page)).to_have_text("Development approval")

    # The manager approves round two; verification waits for QA.
    page = visitor.sign_in("manager")
    open_train(page)
    expect(page.locator("#approvals")).to_contain_text("Development approval · round 2")
    decide_development(page, approve=True)
    expect(state_badge(page)).to_have_text("Verification")
    expect(flash(page)).to_contain_text(f"Approved: {TRAIN}.")
    expect(page.locator("#approvals")).to_contain_text("Earlier rounds (1 decision)")
    request = page.locator("#actions").get_by_role("button", name="Request executive approval")
    expect(request).to_be_disabled()
    expect(page.locator("#actions")).to_contain_text("1 verification exit criterion unmet")
    screenshot(page, "06-dashboard-verification")

    # QA ticks the sign-off; the panel refreshes in place.
    page = visitor.sign_in("qa")
    open_train(page)
    expect(page.locator("#actions")).to_be_empty()
    page.get_by_role("button", name=f"Tick {QA_SIGN_OFF}").click()
    expect(page.locator("#criteria")).to_contain_text("Checked by qa")
    expect(page.get_by_role("button", name=f"Untick {QA_SIGN_OFF}")).to_be_visible()

    # The manager asks for executive approval.
    page = visitor.sign_in("manager")
    open_train(page)
    request = page.locator("#actions").get_by_role("button", name="Request executive approval")
    expect(request).to_be_enabled()
    request.click()
    expect(flash(page)).to_contain_text("Request executive approval: done.")
    expect(state_badge(page)).to_have_text("Executive approval")

    # The executive approves from the inbox.
    page = visitor.sign_in("executive")
    approvals_link = nav(page).get_by_role("link", name=re.compile("Approvals"))
    expect(approvals_link).to_contain_text("1")
    approvals_link.click()
    item = page.locator("article").filter(has_text=TRAIN)
    expect(item).to_contain_text("Executive approval · round 1")
    expect(item).to_contain_text("2 / 2")
    screenshot(page, "07-inbox-executive")
    item.get_by_role("button", name="Approve").click()
    expect(flash(page)).to_contain_text(f"Approved: {TRAIN}.")
    expect(page.get_by_text("Nothing waits for your decision.")).to_be_visible()
    page.get_by_role("link", name="Decided").click()
    expect(page.get_by_role("row").filter(has_text=TRAIN)).to_contain_text("Approved")

    # The owner hands both releases over.
    page = visitor.sign_in("owner")
    for release in RELEASES:
        open_application(page, release.split()[0])
        page.get_by_text("Submit turnover…").click()
        page.get_by_label("What is delivered").fill(f"{release}: packages, runbook")
        page.get_by_role("button", name="Submit turnover").click()
        expect(flash(page)).to_contain_text(
            f"Turnover of {release} submitted to the release engineers."
        )

    # The engineer cannot deploy before accepting the turnovers; then accepts them.
    page = visitor.sign_in("engineer")
    open_train(page)
    expect(state_badge(page)).to_have_text("Deployment")
    actions = page.locator("#actions")
    expect(actions.get_by_role("button", name="Record deployment")).to_be_disabled()
    expect(actions).to_contain_text("1 deployment exit criterion unmet")
    expect(actions).to_contain_text("2 of 2 application releases have no accepted turnover")
    go(page, "Applications")
    expect(page.locator("#turnovers-h")).to_have_text("Turnovers waiting for review")
    screenshot(page, "08-applications-engineer")
    for release in RELEASES:
        page.get_by_role("button", name=f"Accept turnover of {release}").click()
        expect(flash(page)).to_contain_text(f"Turnover of {release} accepted.")
    expect(page.get_by_text("No turnover waits for review.")).to_be_visible()

    # A failed deployment keeps the train in deployment; a successful one closes it.
    open_train(page)
    for outcome, log, message in [
        ("Failed — stay in deployment", "migration timed out", "Deployment failure recorded"),
        ("Succeeded — close the train", "all green", "Deployment succeeded"),
    ]:
        page.locator("#actions summary").click()
        page.get_by_label(outcome).check()
        page.get_by_label("Log").fill(log)
        page.locator("#actions form").get_by_role("button", name="Record deployment").click()
        expect(flash(page)).to_contain_text(message)
        if outcome.startswith("Failed"):
            expect(state_badge(page)).to_have_text("Deployment")
            expect(page.locator("#deployments")).to_contain_text("Failed")
            screenshot(page, "09-dashboard-deployment-failed")
    expect(state_badge(page)).to_have_text("Closed")
    expect(page.locator("#deployments")).to_contain_text("Succeeded")
    expect(page.locator("#actions")).to_be_empty()

    # The manager sees it closed on the list and on the calendar, where closed trains are
    # one click away.
    page = visitor.sign_in("manager")
    page.get_by_role("link", name="Closed and cancelled", exact=True).click()
    row = page.get_by_role("row").filter(has_text=TRAIN)
    expect(row).to_contain_text("Closed")
    expect(row).to_contain_text("2 / 2")
    screenshot(page, "10-trains-list")
    go(page, "Calendar")
    scoping_ends = timezone.localdate() + timedelta(days=7)
    if scoping_ends.month != timezone.localdate().month:
        page.get_by_role("link", name="Next month").click()
    page.get_by_role("link", name="Include closed and cancelled trains").click()
    expect(page.get_by_role("grid")).to_contain_text(f"{TRAIN}: Scoping ends")
    screenshot(page, "11-calendar")

    # The stakeholder reads the closed train: everything shown, nothing to press.
    page = visitor.sign_in("stakeholder")
    expect(nav(page).get_by_role("link")).to_have_text(
        ["releasemgr", "Trains", "Calendar", "Notifications", "Profile"]
    )
    go(page, "Trains")
    page.get_by_role("link", name="Closed and cancelled", exact=True).click()
    page.get_by_role("link", name=TRAIN).click()
    expect(state_badge(page)).to_have_text("Closed")
    expect(page.locator("#history")).to_contain_text("Record deployment: Deployment → Closed")
    main = page.locator("main")
    expect(main.get_by_role("button")).to_have_count(0)
    expect(main.locator("form")).to_have_count(0)
    expect(main.locator("#access")).to_have_count(0)
    screenshot(page, "12-dashboard-closed-stakeholder")
    page.set_viewport_size(PHONE)
    page.reload()
    assert horizontal_overflow(page) <= 0
    screenshot(page, "13-dashboard-phone-390px")
