"""Cloning a train as a release manager clicks through it: "New train like this one",
a new start day, the next planned release ticked, and the new train's page shows every
date moved by the same number of days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.support import Visitor, flash
from tests.factories import ReleaseFactory, make_train, schedule, scope
from trains import services

pytestmark = pytest.mark.browser

START = date(2027, 1, 4)


def test_clone_a_train_and_see_its_dates_shifted(visitor: Visitor, manager, owner, executive):
    source = make_train(manager, name="2027.01 Monthly train", **schedule(START))
    scope(source, manager=manager, owner=owner, releases=1)
    services.milestone_add(
        train=source, by=manager, name="Code freeze", due_date=START + timedelta(days=10)
    )
    app = source.application_releases.get().application
    nxt = ReleaseFactory(application=app, version="2.0.0")
    page = visitor.sign_in("manager")
    page.goto(f"/trains/{source.pk}/")
    page.get_by_role("link", name="New train like this one").click()

    expect(page.get_by_label("2.0.0")).to_be_checked()  # the next planned release
    page.get_by_label("The new train starts on").fill("2027-03-01")
    page.get_by_role("button", name="Make the new train").click()

    expect(flash(page)).to_contain_text("Train 2027.03 Monthly train made like 2027.01")
    header = page.locator("#train-header")
    expect(header.get_by_role("heading", level=1)).to_have_text("2027.03 Monthly train")
    shift = date(2027, 3, 1) - START
    end = source.end_date + shift
    expect(header).to_contain_text(f"2027-03-01 → {end.isoformat()}")
    expect(page.locator("#milestones")).to_contain_text("Code freeze · 2027-03-11")
    expect(page.locator("#releases")).to_contain_text(str(nxt.version))

    page.get_by_role("link", name="Edit details & dates").click()
    for phase in source.phases.all():
        field = page.get_by_label(f"{phase.get_kind_display()} ends")
        expect(field).to_have_value((phase.planned_end + shift).isoformat())
