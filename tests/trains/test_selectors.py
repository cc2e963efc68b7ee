import importlib
import re

import pytest
from django.contrib.auth.models import Group

from releasemgr import roles
from tests.factories import drive, make_train
from trains import services
from trains.selectors import inbox_summary, pending_requirements

pytestmark = pytest.mark.django_db


def test_inbox_holds_open_gates_until_decided(people):
    train, dev, exe, _ = drive(make_train(people["manager"]), "development_approval", **people)
    assert list(pending_requirements(user=people["manager"])) == [dev]
    assert inbox_summary(user=people["executive"])[0] == 0
    services.decision_record(requirement=dev, by=people["manager"], approve=True)
    assert inbox_summary(user=people["manager"])[0] == 0


def test_primary_manager_is_not_asked_for_executive_approval(people):
    people["manager"].groups.add(Group.objects.get(name=roles.EXECUTIVES))
    train, _, exe, _ = drive(make_train(people["manager"]), "executive_approval", **people)
    assert inbox_summary(user=people["manager"])[0] == 0
    assert list(pending_requirements(user=people["executive"])) == [exe]


def test_inbox_count_counts_trains_not_requirements(people):
    """A train that asks the executive by name and through their group is one train
    waiting, on the badge as in the inbox."""
    executive = people["executive"]
    first = make_train(people["manager"])
    services.requirement_add(train=first, by=people["manager"], gate="executive", user=executive)
    second = make_train(people["manager"])
    drive(first, "executive_approval", **people)
    assert pending_requirements(user=executive).count() == 2
    assert inbox_summary(user=executive)[0] == 1
    services.requirement_add(train=second, by=people["manager"], gate="executive", user=executive)
    drive(second, "executive_approval", **people)
    assert inbox_summary(user=executive)[0] == 2


def test_the_badge_counts_to_its_cap_and_then_says_more(client, people, monkeypatch):
    """Counting every waiting train read every requirement naming the person on every
    page; the badge counts one past its cap and says "99+" (here "2+")."""
    # the module, which the package's `inbox` (the function) hides
    monkeypatch.setattr(importlib.import_module("trains.selectors.inbox"), "BADGE_CAP", 2)
    counted = []
    for n in range(4):
        drive(make_train(people["manager"], name=f"Train {n}"), "development_approval", **people)
        counted.append(inbox_summary(user=people["manager"])[0])
    assert counted == [1, 2, 3, 3]  # the fourth is past the count
    client.force_login(people["manager"])
    nav = client.get("/trains/").content.decode().split("</nav>")[0]
    assert 'aria-label="2+ waiting">2+</span>' in nav


def test_the_inbox_shows_the_trains_waiting_longest_and_says_more_wait(client, people, monkeypatch):
    """Someone asked on every train got them all on one page (2.7 MB for 1,438 trains):
    the inbox shows the ones waiting longest, one past the badge's cap (here 2 and 3),
    and the navigation's count comes from it."""
    module = importlib.import_module("trains.selectors.inbox")
    monkeypatch.setattr(module, "BADGE_CAP", 2)
    monkeypatch.setattr(module, "INBOX_LIMIT", 3)
    # The first train made reaches its gate last: the inbox orders by how long each has
    # waited, not by when it was made.
    last_to_ask = make_train(people["manager"], name="Waiting 9")
    driven = [
        drive(make_train(people["manager"], name=f"Waiting {n}"), "development_approval", **people)
        for n in range(3)
    ]
    driven.append(drive(last_to_ask, "development_approval", **people))
    client.force_login(people["manager"])
    page = client.get("/approvals/").content.decode()
    assert re.findall(r">(Waiting \d)</a></h2>", page) == ["Waiting 0", "Waiting 1", "Waiting 2"]
    assert "The 3 trains that have waited longest for you are shown" in page
    assert 'aria-label="2+ waiting">2+</span>' in page.split("</nav>")[0]
    services.decision_record(requirement=driven[0][1], by=people["manager"], approve=True)
    page = client.get("/approvals/").content.decode()
    assert re.findall(r">(Waiting \d)</a></h2>", page) == ["Waiting 1", "Waiting 2", "Waiting 9"]
    assert "wait after them" not in page
    assert 'aria-label="3 waiting">3</span>' not in page  # 3 > the cap of 2
    assert 'aria-label="2+ waiting">2+</span>' in page.split("</nav>")[0]
