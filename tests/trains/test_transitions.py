"""Every transition's allowed path and each of its refusals."""

import pytest
from django.core.exceptions import ValidationError

from releasemgr import roles
from releasemgr.exceptions import ConditionsUnmet, InvalidState, NotAllowed, ServiceError
from tests.factories import (
    ReleaseFactory,
    UserFactory,
    complete_all,
    drive,
    fresh,
    make_train,
    scope,
)
from trains import services
from trains.choices import EventKind
from trains.models import Notification, Phase, TrainEvent

pytestmark = pytest.mark.django_db


def test_new_train_starts_in_scoping_with_phases_criteria_and_history(manager):
    train = make_train(manager)
    assert train.state == "scoping"
    assert list(train.phases.values_list("kind", flat=True)) == [
        "scoping",
        "construction",
        "verification",
        "deployment",
    ]
    assert train.criteria.filter(required=True).count() == 6
    event = train.events.get()
    assert (event.kind, event.actor, event.to_state) == ("created", manager, "scoping")
    assert train.phases.get(kind="scoping").actual_start is not None


def test_start_construction_moves_a_scoped_train(people):
    train = make_train(people["manager"])
    scope(train, manager=people["manager"], owner=people["owner"])
    services.train_transition(train=train, name="start_construction", by=people["manager"])
    train.refresh_from_db()
    assert train.state == "construction"
    event = train.events.filter(kind="transition").get()
    assert (event.from_state, event.to_state, event.actor) == (
        "scoping",
        "construction",
        people["manager"],
    )
    assert Phase.objects.get(train=train, kind="scoping").actual_end is not None
    assert Phase.objects.get(train=train, kind="construction").actual_start is not None


def test_start_construction_lists_every_unmet_scoping_criterion(manager):
    train = make_train(manager, phase_ends={"scoping": None})
    with pytest.raises(ConditionsUnmet) as error:
        services.train_transition(train=train, name="start_construction", by=manager)
    unmet = error.value.unmet
    assert len(unmet) == 3
    assert "no planned end date for Scoping" in unmet[0]
    assert "no approvers for development approval, executive approval" in unmet[1]
    assert "no application release is on the train" in unmet[2]
    assert fresh(train).state == "scoping"
    assert not TrainEvent.objects.filter(train=train, kind="transition").exists()


def test_start_construction_needs_required_manual_criteria_ticked(manager, owner, executive):
    train = make_train(manager)
    scope(train, manager=manager, owner=owner)
    criterion = services.criterion_add(
        train=train, by=manager, phase="scoping", description="Scope signed off"
    )
    with pytest.raises(ConditionsUnmet, match="Scope signed off: not checked yet"):
        services.train_transition(train=train, name="start_construction", by=manager)
    services.criterion_set_met(criterion=criterion, by=manager, met=True)
    services.train_transition(train=fresh(train), name="start_construction", by=manager)
    assert fresh(train).state == "construction"


def test_optional_criteria_do_not_block(manager, owner, executive):
    train = make_train(manager)
    scope(train, manager=manager, owner=owner)
    services.criterion_add(
        train=train, by=manager, phase="scoping", description="Nice to have", required=False
    )
    services.train_transition(train=train, name="start_construction", by=manager)
    assert fresh(train).state == "construction"


@pytest.mark.parametrize("who", ["owner", "qa", "executive", "engineer", "other_manager"])
def test_only_the_trains_managers_start_construction(people, other_manager, who):
    people["other_manager"] = other_manager
    train = make_train(people["manager"])
    scope(train, manager=people["manager"], owner=people["owner"])
    with pytest.raises(NotAllowed):
        services.train_transition(train=train, name="start_construction", by=people[who])
    assert fresh(train).state == "scoping"


def test_a_granted_release_manager_may_move_the_train(people, other_manager):
    train = make_train(people["manager"])
    scope(train, manager=people["manager"], owner=people["owner"])
    services.train_grant(train=train, by=people["manager"], user=other_manager, level="manage")
    services.train_transition(train=train, name="start_construction", by=other_manager)
    assert fresh(train).state == "construction"


def test_a_step_from_the_wrong_state_is_refused(people):
    train = make_train(people["manager"])
    with pytest.raises(InvalidState, match="in scoping; only a train in verification can go to"):
        services.train_transition(
            train=train, name="request_executive_approval", by=people["manager"]
        )


def test_system_steps_cannot_be_taken_by_hand(people):
    train, *_ = drive(make_train(people["manager"]), "development_approval", **people)
    with pytest.raises(ServiceError, match="not a step that can be taken by hand"):
        services.train_transition(train=train, name="approve_development", by=people["manager"])


def test_last_release_completed_requests_development_approval(people):
    train = make_train(people["manager"])
    _, _, releases = scope(train, manager=people["manager"], owner=people["owner"])
    services.train_transition(train=train, name="start_construction", by=people["manager"])
    complete_all(releases[:1], people["owner"])
    assert fresh(train).state == "construction"
    complete_all(releases[1:], people["owner"])
    train = fresh(train)
    assert train.state == "development_approval"
    assert train.development_round == 1
    event = train.events.filter(transition="request_development_approval").get()
    assert event.actor is None and "development-complete" in event.message
    # the approver of the development gate (the manager) hears of it
    assert event.notifications.filter(recipient=people["manager"]).exists()


def test_request_development_approval_by_hand_waits_for_manual_criteria(people):
    train = make_train(people["manager"])
    _, _, releases = scope(train, manager=people["manager"], owner=people["owner"])
    criterion = services.criterion_add(
        train=train, by=people["manager"], phase="construction", description="Code review done"
    )
    services.train_transition(train=train, name="start_construction", by=people["manager"])
    complete_all(releases, people["owner"])
    assert fresh(train).state == "construction"  # the manual criterion held it back
    with pytest.raises(ConditionsUnmet, match="Code review done"):
        services.train_transition(
            train=fresh(train), name="request_development_approval", by=people["manager"]
        )
    services.criterion_set_met(criterion=criterion, by=people["manager"], met=True)
    services.train_transition(
        train=fresh(train), name="request_development_approval", by=people["manager"]
    )
    assert fresh(train).state == "development_approval"


def test_request_development_approval_names_incomplete_releases(people):
    train = make_train(people["manager"])
    _, _, releases = scope(train, manager=people["manager"], owner=people["owner"], releases=3)
    services.train_transition(train=train, name="start_construction", by=people["manager"])
    complete_all(releases[:1], people["owner"])
    with pytest.raises(ConditionsUnmet, match="2 of 3 application releases are not development"):
        services.train_transition(
            train=fresh(train), name="request_development_approval", by=people["manager"]
        )


def test_development_approval_moves_to_verification(people):
    train, dev, _, _ = drive(make_train(people["manager"]), "development_approval", **people)
    services.decision_record(requirement=dev, by=people["manager"], approve=True)
    train = fresh(train)
    assert train.state == "verification"
    event = train.events.filter(transition="approve_development").get()
    assert event.actor is None
    assert Phase.objects.get(train=train, kind="construction").actual_end is not None


def test_request_executive_approval_needs_qa_sign_off(people):
    train, dev, _, _ = drive(make_train(people["manager"]), "development_approval", **people)
    services.decision_record(requirement=dev, by=people["manager"], approve=True)
    with pytest.raises(ConditionsUnmet, match="QA sign-off"):
        services.train_transition(
            train=fresh(train), name="request_executive_approval", by=people["manager"]
        )
    criterion = train.criteria.get(phase="verification", rule="manual")
    services.criterion_set_met(criterion=criterion, by=people["qa"], met=True)
    services.train_transition(
        train=fresh(train), name="request_executive_approval", by=people["manager"]
    )
    train = fresh(train)
    assert (train.state, train.executive_round) == ("executive_approval", 1)


def test_qa_may_tick_only_verification_criteria(people):
    train = make_train(people["manager"])
    criterion = services.criterion_add(
        train=train, by=people["manager"], phase="scoping", description="Scope agreed"
    )
    with pytest.raises(NotAllowed):
        services.criterion_set_met(criterion=criterion, by=people["qa"], met=True)


def test_criteria_are_ticked_only_during_their_phase(people):
    train = make_train(people["manager"])
    criterion = train.criteria.get(phase="verification", rule="manual")
    with pytest.raises(InvalidState, match="only while the train is in verification"):
        services.criterion_set_met(criterion=criterion, by=people["qa"], met=True)


def test_automatic_criteria_cannot_be_ticked(people):
    train = make_train(people["manager"])
    criterion = train.criteria.get(rule="has_releases")
    with pytest.raises(InvalidState, match="checked automatically"):
        services.criterion_set_met(criterion=criterion, by=people["manager"], met=True)


def test_unticking_a_criterion_is_recorded(people):
    train = make_train(people["manager"])
    criterion = services.criterion_add(
        train=train, by=people["manager"], phase="scoping", description="Budget approved"
    )
    services.criterion_set_met(criterion=criterion, by=people["manager"], met=True)
    services.criterion_set_met(criterion=criterion, by=people["manager"], met=True)  # no-op
    services.criterion_set_met(criterion=criterion, by=people["manager"], met=False)
    criterion.refresh_from_db()
    assert criterion.met_at is None and criterion.met_by is None
    messages = list(train.events.filter(kind="criterion").values_list("message", flat=True))
    assert messages == [
        "Unchecked: Budget approved",
        "Checked: Budget approved",
        "Added scoping exit criterion: Budget approved",
    ]


def test_executive_approval_moves_to_deployment(people):
    train, _, exe, _ = drive(make_train(people["manager"]), "executive_approval", **people)
    services.decision_record(requirement=exe, by=people["executive"], approve=True)
    assert fresh(train).state == "deployment"


def test_deploy_needs_accepted_turnovers(people):
    train, _, exe, releases = drive(make_train(people["manager"]), "executive_approval", **people)
    services.decision_record(requirement=exe, by=people["executive"], approve=True)
    with pytest.raises(ConditionsUnmet, match="2 of 2 application releases have no accepted"):
        services.train_deploy(train=fresh(train), by=people["engineer"], succeeded=True)
    assert not fresh(train).deployments.exists()


def test_failed_deployment_is_recorded_and_train_stays(people):
    train, *_ = drive(make_train(people["manager"]), "deployment", **people)
    deployment = services.train_deploy(
        train=train, by=people["engineer"], succeeded=False, log="rollback"
    )
    train = fresh(train)
    assert train.state == "deployment"
    assert (deployment.succeeded, deployment.log) == (False, "rollback")
    event = train.events.filter(transition="deploy").get()
    assert (event.from_state, event.to_state, event.message) == (
        "deployment",
        "deployment",
        "Deployment failed",
    )
    services.train_deploy(train=train, by=people["engineer"], succeeded=True)
    train = fresh(train)
    assert train.state == "closed" and train.closed_at is not None
    assert train.deployments.count() == 2
    assert Phase.objects.get(train=train, kind="deployment").actual_end is not None


def test_deploy_refused_to_product_owner_and_unassigned_engineer(people):
    from releasemgr import roles
    from tests.factories import UserFactory

    train, *_ = drive(make_train(people["manager"]), "deployment", **people)
    with pytest.raises(NotAllowed):
        services.train_deploy(train=train, by=people["owner"], succeeded=True)
    services.train_update(
        train=train,
        by=people["manager"],
        release_engineers=[UserFactory(roles=[roles.RELEASE_ENGINEERS])],
    )
    with pytest.raises(NotAllowed):
        services.train_deploy(train=fresh(train), by=people["engineer"], succeeded=True)


def test_deploy_refused_before_deployment(people):
    train, *_ = drive(make_train(people["manager"]), "verification", **people)
    with pytest.raises(
        InvalidState, match="This train is in verification; only a train in deployment can"
    ):
        services.train_deploy(train=train, by=people["manager"], succeeded=True)


@pytest.mark.parametrize(
    "state",
    [
        "scoping",
        "construction",
        "development_approval",
        "verification",
        "executive_approval",
        "deployment",
    ],
)
def test_cancel_from_any_open_state(people, state):
    train, *_ = drive(make_train(people["manager"]), state, **people)
    services.train_transition(train=train, name="cancel", by=people["manager"], reason="Budget cut")
    train = fresh(train)
    assert train.state == "cancelled"
    event = train.events.filter(transition="cancel").get()
    assert (event.from_state, event.message) == (state, "Budget cut")


@pytest.mark.parametrize("state", ["scoping", "construction", "verification", "deployment"])
def test_cancelling_frees_its_releases_to_join_another_train(people, state):
    manager = people["manager"]
    train, _, _, releases = drive(make_train(manager), state, **people)
    states = {r.pk: fresh(r).state for r in releases}
    services.train_transition(train=train, name="cancel", by=manager, reason="Budget cut")
    cancel = train.events.get(transition="cancel")
    freed = list(train.events.filter(kind=EventKind.RELEASE, id__gt=cancel.id).order_by("id"))
    assert [e.data for e in freed] == [{"release": r.pk, "freed": True} for r in releases]
    assert [e.message for e in freed] == [
        f"Freed {r}: the train was cancelled; it may join another train" for r in releases
    ]
    assert all(e.actor == manager for e in freed)
    other = make_train(manager)
    for release in releases:
        release = fresh(release)
        assert release.train is None and release.state == states[release.pk]
        services.release_add(train=other, release=release, by=manager)
    assert other.application_releases.count() == len(releases)


def test_a_freed_release_is_told_to_its_owner_only_while_they_see_the_train(people, role_groups):
    manager, owner = people["manager"], people["owner"]
    other_owner = UserFactory(username="other_owner", roles=[roles.PRODUCT_OWNERS])
    train = make_train(manager)
    _, _, (seen,) = scope(train, manager=manager, owner=owner, releases=1)
    unseen = ReleaseFactory(application__product_owner=other_owner)
    services.release_add(train=train, release=unseen, by=manager)
    services.train_grant(train=train, by=manager, user=owner)  # still sees it once cancelled
    services.train_transition(train=train, name="cancel", by=manager, reason="Budget cut")
    told = Notification.objects.filter(event__train=train, event__data__freed=True)
    assert {(n.event.data["release"], n.recipient_id) for n in told} == {(seen.pk, owner.pk)}
    assert Notification.objects.filter(event__transition="cancel", recipient=owner).exists()
    # who saw the train only through their release is told nothing of it, not even that
    # it was cancelled: it is no longer theirs to open
    cancel = train.events.get(transition="cancel")
    assert not Notification.objects.filter(recipient=other_owner, event__id__gte=cancel.id).exists()
    assert train.events.filter(data__release=unseen.pk, data__freed=True).exists()


def test_a_refused_cancel_frees_nothing(people):
    train, _, _, releases = drive(make_train(people["manager"]), "closed", **people)
    with pytest.raises(InvalidState):
        services.train_transition(train=train, name="cancel", by=people["manager"], reason="no")
    assert all(fresh(r).train_id == train.pk for r in releases)
    assert not train.events.filter(data__freed=True).exists()


def test_cancel_needs_a_reason(people):
    train = make_train(people["manager"])
    with pytest.raises(ValidationError, match="Give a reason"):
        services.train_transition(train=train, name="cancel", by=people["manager"], reason="  ")
    assert fresh(train).state == "scoping"


def test_closed_and_cancelled_trains_cannot_move(people):
    train, *_ = drive(make_train(people["manager"]), "closed", **people)
    with pytest.raises(InvalidState):
        services.train_transition(
            train=train, name="cancel", by=people["manager"], reason="too late"
        )


def test_state_cannot_be_assigned_directly(manager):
    train = make_train(manager)
    with pytest.raises(AttributeError):
        train.state = "closed"


def test_stale_train_object_gets_a_concurrency_message(people):
    train = make_train(people["manager"])
    scope(train, manager=people["manager"], owner=people["owner"])
    stale = fresh(train)
    services.train_transition(train=train, name="start_construction", by=people["manager"])
    from releasemgr.exceptions import ConcurrentChange

    with pytest.raises(ConcurrentChange, match="You have moved this train already"):
        services.train_transition(train=stale, name="cancel", by=people["manager"], reason="x")


def test_a_second_press_of_ones_own_step_says_it_was_ones_own(people):
    """Pressing twice (or in two tabs): the second press is refused without blaming
    someone else; another person's press still is told that someone else moved it."""
    from releasemgr.exceptions import ConcurrentChange

    train, *_ = drive(make_train(people["manager"]), "deployment", **people)
    services.train_deploy(
        train=train, by=people["engineer"], succeeded=True, shown_state="deployment"
    )
    with pytest.raises(ConcurrentChange) as mine:
        services.train_deploy(
            train=train, by=people["engineer"], succeeded=True, shown_state="deployment"
        )
    assert str(mine.value) == "You have moved this train already: it is now closed."
    with pytest.raises(ConcurrentChange) as theirs:
        services.train_deploy(
            train=train, by=people["manager"], succeeded=True, shown_state="deployment"
        )
    assert str(theirs.value) == "Someone else moved this train first: it is now closed."
    assert fresh(train).deployments.count() == 1


def test_no_step_leads_back_from_deployment():
    """The dashboard reads deployments only in DEPLOYED_STATES: a train that reached
    deployment never returns to an earlier state."""
    from trains.models import ReleaseTrain
    from trains.selectors import DEPLOYED_STATES

    field = ReleaseTrain._meta.get_field("state")
    targets: dict[str, set[str]] = {}
    for t in field.get_all_transitions(ReleaseTrain):
        possible = getattr(t.target, "allowed_states", None) or [t.target]
        targets.setdefault(t.source, set()).update(possible)
    for state in DEPLOYED_STATES:
        assert targets.get(state, set()) <= set(DEPLOYED_STATES), state
    assert "deployment" in targets["executive_approval"]
