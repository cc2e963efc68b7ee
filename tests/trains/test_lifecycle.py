"""One train from scoping to closed through the services alone, rejected twice on the way."""

import pytest

from tests.factories import ReleaseFactory, fresh, make_train
from trains import services

pytestmark = pytest.mark.django_db


def test_a_train_goes_from_scoping_to_closed_with_two_rejections(
    manager, owner, qa, executive, executive2, engineer, stakeholder
):
    train = make_train(manager, name="2027.02 Spring train")
    services.train_grant(train=train, by=manager, user=stakeholder)
    dev = services.requirement_add(train=train, by=manager, gate="development", user=manager)
    from django.contrib.auth.models import Group

    exe = services.requirement_add(
        train=train,
        by=manager,
        gate="executive",
        group=Group.objects.get(name="executives"),
        required_approvals=2,
    )
    releases = [ReleaseFactory(application__product_owner=owner) for _ in range(3)]
    for release in releases:
        services.release_add(train=train, release=release, by=manager)
    services.milestone_add(train=train, by=manager, name="Code freeze", due_date=train.start_date)
    services.train_transition(train=fresh(train), name="start_construction", by=manager)

    def develop(name):
        for release in releases:
            services.release_transition(release=fresh(release), name=name, by=owner)

    develop("start_development")
    develop("complete_development")
    assert fresh(train).state == "development_approval"

    # rejection 1: development gate, back to the product owners
    services.decision_record(
        requirement=dev, by=manager, approve=False, comment="Mobile build fails on Android 12"
    )
    assert fresh(train).state == "construction"
    services.release_transition(release=fresh(releases[2]), name="reopen_development", by=owner)
    services.release_transition(release=fresh(releases[2]), name="complete_development", by=owner)
    train = fresh(train)
    assert (train.state, train.development_round) == ("development_approval", 2)
    services.decision_record(requirement=dev, by=manager, approve=True)
    assert fresh(train).state == "verification"

    qa_check = train.criteria.get(phase="verification", rule="manual")
    services.criterion_set_met(criterion=qa_check, by=qa, met=True)
    services.train_transition(train=fresh(train), name="request_executive_approval", by=manager)

    # rejection 2: executive gate, back to verification
    services.decision_record(requirement=exe, by=executive, approve=True)
    services.decision_record(
        requirement=exe,
        by=executive2,
        approve=False,
        comment="Wait until after the sales conference",
    )
    assert fresh(train).state == "verification"
    services.train_transition(train=fresh(train), name="request_executive_approval", by=manager)
    services.decision_record(requirement=exe, by=executive, approve=True)
    services.decision_record(requirement=exe, by=executive2, approve=True)
    assert fresh(train).state == "deployment"

    for release in releases:
        turnover = services.turnover_submit(
            release=fresh(release), by=owner, description="Artefacts and runbook"
        )
        services.turnover_decide(turnover=turnover, by=engineer, accept=True)
    services.train_deploy(train=fresh(train), by=engineer, succeeded=False, log="DB timeout")
    services.train_deploy(train=fresh(train), by=engineer, succeeded=True, log="OK")

    train = fresh(train)
    assert train.state == "closed"
    path = list(
        train.events.filter(kind="transition")
        .order_by("created_at", "id")
        .values_list("transition", flat=True)
    )
    assert path == [
        "start_construction",
        "request_development_approval",
        "reject_development",
        "request_development_approval",
        "approve_development",
        "request_executive_approval",
        "reject_executive",
        "request_executive_approval",
        "approve_executive",
        "deploy",
        "deploy",
    ]
    phases = list(train.phases.order_by("position"))
    assert all(p.actual_start and p.actual_end for p in phases)
    # the stakeholder is told the train closed
    closing = train.events.filter(transition="deploy", to_state="closed").get()
    assert closing.notifications.filter(recipient=stakeholder).exists()
