"""Gate quorum, separation of duties, rejections and rounds."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from approvals.models import ApprovalDecision, ApprovalRequirement, Gate
from releasemgr import roles
from releasemgr.exceptions import InvalidState, NotAllowed
from tests.factories import UserFactory, complete_all, drive, fresh, make_train, scope
from trains import access, services
from trains.choices import EventKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def cab():
    """A change advisory board: three members, two of whom must approve."""
    group = Group.objects.create(name="cab")
    members = [UserFactory(username=f"cab{i}") for i in range(3)]
    group.user_set.add(*members)
    return group, members


def _to_executive_gate(people, *, requirement_kwargs):
    train = make_train(people["manager"])
    dev = services.requirement_add(
        train=train, by=people["manager"], gate=Gate.DEVELOPMENT, user=people["manager"]
    )
    requirements = [
        services.requirement_add(train=train, by=people["manager"], gate=Gate.EXECUTIVE, **kw)
        for kw in requirement_kwargs
    ]
    from tests.factories import ReleaseFactory

    release = ReleaseFactory(application__product_owner=people["owner"])
    services.release_add(train=train, release=release, by=people["manager"])
    services.train_transition(train=train, name="start_construction", by=people["manager"])
    complete_all([release], people["owner"])
    services.decision_record(requirement=dev, by=people["manager"], approve=True)
    criterion = train.criteria.get(phase="verification", rule="manual")
    services.criterion_set_met(criterion=criterion, by=people["qa"], met=True)
    services.train_transition(
        train=fresh(train), name="request_executive_approval", by=people["manager"]
    )
    return fresh(train), requirements


def test_two_of_three_pass_the_gate_on_the_second_approval(people, cab):
    group, members = cab
    train, (req,) = _to_executive_gate(
        people, requirement_kwargs=[{"group": group, "required_approvals": 2}]
    )
    services.decision_record(requirement=req, by=members[0], approve=True)
    assert fresh(train).state == "executive_approval"
    services.decision_record(requirement=req, by=members[1], approve=True)
    train = fresh(train)
    assert train.state == "deployment"
    assert train.events.filter(transition="approve_executive").count() == 1


def test_every_requirement_must_be_met(people, cab):
    group, members = cab
    train, (by_group, by_user) = _to_executive_gate(
        people,
        requirement_kwargs=[
            {"group": group, "required_approvals": 1},
            {"user": people["executive"]},
        ],
    )
    services.decision_record(requirement=by_group, by=members[0], approve=True)
    assert fresh(train).state == "executive_approval"
    services.decision_record(requirement=by_user, by=people["executive"], approve=True)
    assert fresh(train).state == "deployment"


def test_a_person_counts_once_per_requirement(people, cab):
    group, members = cab
    train, (req,) = _to_executive_gate(
        people, requirement_kwargs=[{"group": group, "required_approvals": 2}]
    )
    services.decision_record(requirement=req, by=members[0], approve=True)
    with pytest.raises(InvalidState, match="already decided"):
        services.decision_record(requirement=req, by=members[0], approve=True)
    assert ApprovalDecision.objects.filter(requirement=req).count() == 1
    assert fresh(train).state == "executive_approval"


def test_a_person_in_two_groups_is_counted_once_in_each(people, cab):
    group, members = cab
    board = Group.objects.create(name="board")
    board.user_set.add(members[0], UserFactory(username="board1"))
    train, (by_cab, by_board) = _to_executive_gate(
        people,
        requirement_kwargs=[
            {"group": group, "required_approvals": 2},
            {"group": board, "required_approvals": 2},
        ],
    )
    services.decision_record(requirement=by_cab, by=members[0], approve=True)
    services.decision_record(requirement=by_board, by=members[0], approve=True)
    # one approval each: neither requirement has its two yet
    assert fresh(train).state == "executive_approval"
    from trains.status import train_status

    (gate,) = [g for g in train_status(fresh(train)).gates if g.gate == "executive"]
    assert gate.round == 1
    assert [r.approvals for r in gate.requirements] == [1, 1]


def test_the_primary_release_manager_may_not_give_executive_approval(people):
    people["manager"].groups.add(Group.objects.get(name=roles.EXECUTIVES))
    train, (req,) = _to_executive_gate(
        people, requirement_kwargs=[{"group": Group.objects.get(name=roles.EXECUTIVES)}]
    )
    with pytest.raises(NotAllowed, match="primary release manager may not"):
        services.decision_record(requirement=req, by=people["manager"], approve=True)
    assert not ApprovalDecision.objects.filter(requirement=req).exists()


def test_someone_outside_the_requirement_cannot_decide(people, outsider):
    train, dev, _, _ = drive(make_train(people["manager"]), "development_approval", **people)
    with pytest.raises(NotAllowed, match="not one of the approvers"):
        services.decision_record(requirement=dev, by=outsider, approve=True)
    with pytest.raises(NotAllowed):
        services.decision_record(requirement=dev, by=people["executive"], approve=True)


def test_decisions_only_while_the_gate_is_open(people):
    train, dev, exe, _ = drive(make_train(people["manager"]), "construction", **people)
    with pytest.raises(InvalidState, match="not waiting for development approval"):
        services.decision_record(requirement=dev, by=people["manager"], approve=True)


def test_rejection_needs_a_reason(people):
    train, dev, _, _ = drive(make_train(people["manager"]), "development_approval", **people)
    with pytest.raises(ValidationError, match="rejection needs a reason"):
        services.decision_record(requirement=dev, by=people["manager"], approve=False, comment=" ")
    assert fresh(train).state == "development_approval"
    assert not ApprovalDecision.objects.exists()


def test_development_rejection_returns_train_to_product_owners(people):
    train, dev, _, _ = drive(make_train(people["manager"]), "development_approval", **people)
    services.decision_record(
        requirement=dev,
        by=people["manager"],
        approve=False,
        comment="Billing is missing the tax rules",
    )
    train = fresh(train)
    assert train.state == "construction"
    event = train.events.get(transition="reject_development")
    assert event.message == "Billing is missing the tax rules"
    assert event.notifications.filter(recipient=people["owner"]).exists()


def test_second_round_starts_fresh_and_keeps_the_first(people, cab):
    group, members = cab
    train, (req,) = _to_executive_gate(
        people, requirement_kwargs=[{"group": group, "required_approvals": 2}]
    )
    services.decision_record(requirement=req, by=members[0], approve=True)
    services.decision_record(
        requirement=req, by=members[1], approve=False, comment="Load test results missing"
    )
    train = fresh(train)
    assert train.state == "verification"
    services.train_transition(train=train, name="request_executive_approval", by=people["manager"])
    train = fresh(train)
    assert train.executive_round == 2
    # round 1's approval does not count in round 2
    services.decision_record(requirement=req, by=members[1], approve=True)
    assert fresh(train).state == "executive_approval"
    services.decision_record(requirement=req, by=members[0], approve=True)
    assert fresh(train).state == "deployment"
    rounds = list(req.decisions.order_by("id").values_list("round", "approve"))
    assert rounds == [(1, True), (1, False), (2, True), (2, True)]


def test_requirements_are_locked_after_scoping(people):
    train, *_ = drive(make_train(people["manager"]), "construction", **people)
    with pytest.raises(InvalidState, match="locked after"):
        services.requirement_add(
            train=train, by=people["manager"], gate="executive", user=people["executive"]
        )


def test_requirement_cannot_ask_more_than_the_group_has(people, cab):
    group, _ = cab
    train = make_train(people["manager"])
    with pytest.raises(ValidationError, match="has 3 active member"):
        services.requirement_add(
            train=train, by=people["manager"], gate="executive", group=group, required_approvals=4
        )


def test_the_primary_release_manager_cannot_be_named_an_executive_approver(people):
    train = make_train(people["manager"])
    with pytest.raises(ValidationError) as refused:
        services.requirement_add(
            train=train, by=people["manager"], gate=Gate.EXECUTIVE, user=people["manager"]
        )
    assert list(refused.value.message_dict) == ["user"]
    assert access.SEPARATION_OF_DUTIES in refused.value.message_dict["user"][0]
    assert not ApprovalRequirement.objects.exists()
    assert not train.events.filter(kind=EventKind.REQUIREMENT).exists()
    # the development gate is theirs to decide
    services.requirement_add(
        train=train, by=people["manager"], gate=Gate.DEVELOPMENT, user=people["manager"]
    )


def test_a_group_with_the_primary_manager_counts_only_the_others_at_the_executive_gate(people, cab):
    group, _ = cab
    group.user_set.add(people["manager"])  # four active members, one of whom leads the train
    train = make_train(people["manager"])
    with pytest.raises(ValidationError) as refused:
        services.requirement_add(
            train=train,
            by=people["manager"],
            gate=Gate.EXECUTIVE,
            group=group,
            required_approvals=4,
        )
    (message,) = refused.value.message_dict["required_approvals"]
    assert "has 3 active member(s) who may decide here" in message
    assert access.SEPARATION_OF_DUTIES in message
    assert not ApprovalRequirement.objects.exists()
    services.requirement_add(
        train=train, by=people["manager"], gate=Gate.EXECUTIVE, group=group, required_approvals=3
    )
    # at the development gate the primary manager counts
    services.requirement_add(
        train=train, by=people["manager"], gate=Gate.DEVELOPMENT, group=group, required_approvals=4
    )


def test_a_named_executive_approver_cannot_become_the_primary_manager(people, other_manager):
    train = make_train(people["manager"])
    services.requirement_add(
        train=train, by=people["manager"], gate=Gate.EXECUTIVE, user=other_manager
    )
    with pytest.raises(ValidationError) as refused:
        services.train_update(train=train, by=people["manager"], primary_manager=other_manager)
    (message,) = refused.value.message_dict["primary_manager"]
    assert "other_manager cannot lead this train" in message
    assert access.SEPARATION_OF_DUTIES in message
    train = fresh(train)
    assert train.primary_manager == people["manager"]
    assert not access.can_manage(other_manager, train)
    assert not train.events.filter(kind=EventKind.UPDATED).exists()


def test_the_primary_manager_cannot_change_to_someone_a_group_quorum_needs(
    people, other_manager, cab
):
    group, members = cab
    group.user_set.remove(members[0])
    group.user_set.add(other_manager)  # cab1, cab2 and other_manager
    train = make_train(people["manager"])
    services.requirement_add(
        train=train, by=people["manager"], gate=Gate.EXECUTIVE, group=group, required_approvals=3
    )
    with pytest.raises(ValidationError, match="has 2 active member"):
        services.train_update(train=train, by=people["manager"], primary_manager=other_manager)
    assert fresh(train).primary_manager == people["manager"]


def test_a_group_short_of_members_does_not_block_an_unrelated_change_of_manager(
    people, other_manager, cab
):
    group, members = cab
    train = make_train(people["manager"])
    services.requirement_add(
        train=train, by=people["manager"], gate=Gate.EXECUTIVE, group=group, required_approvals=3
    )
    members[0].is_active = False
    members[0].save()
    services.train_update(train=train, by=people["manager"], primary_manager=other_manager)
    assert fresh(train).primary_manager == other_manager


def test_requirement_is_a_user_or_a_group(people, cab):
    group, _ = cab
    train = make_train(people["manager"])
    with pytest.raises(ValidationError, match="either one user or one group"):
        services.requirement_add(
            train=train,
            by=people["manager"],
            gate="executive",
            group=group,
            user=people["executive"],
        )
    with pytest.raises(ValidationError, match="either one user or one group"):
        services.requirement_add(train=train, by=people["manager"], gate="executive")


def test_same_approver_twice_at_a_gate_is_refused(people):
    train = make_train(people["manager"])
    services.requirement_add(
        train=train, by=people["manager"], gate="executive", user=people["executive"]
    )
    with pytest.raises(ValidationError, match="already an approver"):
        services.requirement_add(
            train=train, by=people["manager"], gate="executive", user=people["executive"]
        )


def test_scope_helper_builds_a_startable_train(people):
    train = make_train(people["manager"])
    scope(train, manager=people["manager"], owner=people["owner"])
    moved = services.train_transition(train=train, name="start_construction", by=people["manager"])
    assert moved.state == "construction"
