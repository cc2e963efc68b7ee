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
