"""Two people (or two tabs) using the same approve link at the same moment, on
PostgreSQL: one decision is recorded, the other is told the link was used."""

import pytest
from django.db import connection  # noqa: F401 - read by the skipif condition

from approvals.models import ApprovalDecision
from tests.factories import drive, fresh, make_train
from tests.trains.test_decision_links import links_in_mail
from tests.trains.test_races import _race
from trains.models import DecisionLinkUse
from trains.services.links import LinkRefused, decision_link_use

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks"),
]


def test_one_link_pressed_at_once_in_eight_tabs_decides_once(people, executive2):
    train, *_ = drive(make_train(people["manager"]), "executive_approval", **people, exec_needed=2)
    token = links_in_mail(train, people["executive"])["Approve"].split("/")[-2]
    results = _race(lambda: decision_link_use(token=token, signed_in=None), workers_per_call=8)
    decisions = [r for r in results if isinstance(r, ApprovalDecision)]
    refusals = [r for r in results if isinstance(r, Exception)]
    assert len(decisions) == 1, results
    assert len(refusals) == 7 and all(isinstance(r, LinkRefused) for r in refusals), refusals
    assert all("already used" in r.title for r in refusals)
    assert (
        ApprovalDecision.objects.filter(
            requirement__train=train, requirement__gate="executive"
        ).count()
        == 1
    )
    assert DecisionLinkUse.objects.count() == 1
    assert fresh(train).state == "executive_approval"  # 1 of 2 approvals
