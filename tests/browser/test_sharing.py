"""Sharing a train from its page, as a release manager clicks through it: a mistyped user
name is refused beside the field with the name still there, in place (htmx) or, without
JavaScript, on the page brought back to the form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import Visitor, flash
from tests.factories import make_train

pytestmark = pytest.mark.browser


def test_sharing_refuses_beside_the_field_then_shares_in_place(
    visitor: Visitor, manager, stakeholder
):
    stakeholder.first_name, stakeholder.last_name = "Sam", "Stakeholder"
    stakeholder.save()
    train = make_train(manager)
    page = visitor.sign_in("manager")
    page.goto(f"/trains/{train.pk}/")
    page.evaluate("window.__notReloaded = true")
    access = page.locator("#access")
    field = access.get_by_label("User name")

    field.fill("stakeholdr")
    access.get_by_role("button", name="Share").click()
    expect(field).to_have_accessible_description("No active user has that user name.")
    expect(field).to_have_value("stakeholdr")
    expect(field).to_have_class(re.compile(r"\bis-invalid\b"))

    field.fill("stakeholder")
    access.get_by_role("button", name="Share").click()
    expect(flash(page)).to_contain_text("Sam Stakeholder may now view this train.")
    expect(access.get_by_role("listitem").filter(has_text="Sam Stakeholder")).to_be_visible()
    expect(field).to_have_value("")
    expect(field).not_to_have_class(re.compile(r"\bis-invalid\b"))
    assert page.evaluate("window.__notReloaded") is True

    access.get_by_role("button", name="Revoke Sam Stakeholder").click()
    expect(flash(page)).to_contain_text("Sam Stakeholder no longer sees this train.")
    expect(access).not_to_contain_text("Sam Stakeholder")
    assert page.evaluate("window.__notReloaded") is True


def test_without_javascript_the_refusal_brings_the_page_back_to_the_form(visitor: Visitor, manager):
    train = make_train(manager)
    page = visitor.sign_in("manager", javascript=False)
    page.goto(f"/trains/{train.pk}/")
    field = page.locator("#access").get_by_label("User name")
    field.fill("nobdy")
    page.locator("#access").get_by_role("button", name="Share").click()
    expect(page).to_have_url(re.compile(rf"/trains/{train.pk}/access/#access$"))
    expect(field).to_have_value("nobdy")
    expect(field).to_have_accessible_description("No active user has that user name.")
