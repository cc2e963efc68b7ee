"""Re-planning with a baseline, and health: the services and what `train_status` makes
of them."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from releasemgr.exceptions import InvalidState, NotAllowed
from tests.factories import drive, fresh, make_train, schedule
from trains import services
from trains.choices import EventKind, Health, PhaseKind
from trains.models import Baseline, Phase, TrainEvent
from trains.status import train_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_construction(people):
    train, *_ = drive(make_train(people["manager"]), "construction", **people)
    return train


def _ends(train) -> dict:
    return {p.kind: p.planned_end for p in train.phases.all()}


def test_starting_construction_saves_the_plan_as_baseline_1(in_construction, people):
    train = in_construction
    baseline = Baseline.objects.get(train=train)
    assert baseline.number == 1
    assert baseline.taken_by == people["manager"]
    assert (baseline.start_date, baseline.end_date) == (train.start_date, train.end_date)
    assert baseline.phases == {k: v.isoformat() for k, v in _ends(train).items()}
    assert sorted(r["name"] for r in baseline.releases) == sorted(
        str(r) for r in train.application_releases.all()
    )
    assert train.events.filter(kind=EventKind.BASELINE).count() == 1
    slip = train_status(train).slip
    assert slip.baseline == 1 and slip.total == 0
    assert [p.days for p in slip.phases] == [0, 0, 0, 0]


def test_moving_dates_records_each_old_and_new_date_with_the_reason(in_construction, people):
    train = in_construction
    manager = people["manager"]
    ends = _ends(train)
    new_end = train.end_date + timedelta(days=10)
    services.plan_move(
        train=train,
        by=manager,
        reason="Vendor late",
        end_date=new_end,
        phase_ends={
            PhaseKind.CONSTRUCTION: ends[PhaseKind.CONSTRUCTION] + timedelta(days=3),
            PhaseKind.VERIFICATION: ends[PhaseKind.VERIFICATION] + timedelta(days=5),
            PhaseKind.DEPLOYMENT: ends[PhaseKind.DEPLOYMENT] + timedelta(days=8),
        },
    )
    event = train.events.get(kind=EventKind.PLAN)
    assert event.actor == manager
    assert "Reason: Vendor late" in event.message
    changes = event.data["changes"]
    assert changes["phase_construction"] == [
        ends[PhaseKind.CONSTRUCTION].isoformat(),
        (ends[PhaseKind.CONSTRUCTION] + timedelta(days=3)).isoformat(),
    ]
    assert changes["end_date"][1] == new_end.isoformat()
    slip = train_status(fresh(train)).slip
    assert [p.days for p in slip.phases] == [0, 3, 5, 8]
    assert slip.total == 8


def test_moving_dates_needs_a_reason_and_changes_nothing_without(in_construction, people):
    train = in_construction
    before = _ends(train)
    with pytest.raises(ValidationError) as error:
        services.plan_move(
            train=train,
            by=people["manager"],
            reason="  ",
            phase_ends={PhaseKind.CONSTRUCTION: before[PhaseKind.CONSTRUCTION] + timedelta(1)},
        )
    assert "reason" in error.value.message_dict
    assert _ends(fresh(train)) == before
    assert not train.events.filter(kind=EventKind.PLAN).exists()


def test_moving_an_ended_phase_is_refused_with_a_clear_message(in_construction, people):
    train = in_construction
    scoping_end = _ends(train)[PhaseKind.SCOPING]
    with pytest.raises(ValidationError) as error:
        services.plan_move(
            train=train,
            by=people["manager"],
            reason="rewrite history",
            phase_ends={PhaseKind.SCOPING: scoping_end - timedelta(days=1)},
        )
    assert "Scoping ended on" in error.value.message_dict["phase_scoping"][0]
    assert "cannot move" in error.value.message_dict["phase_scoping"][0]
    assert _ends(fresh(train))[PhaseKind.SCOPING] == scoping_end


def test_the_train_forms_rules_hold_when_moving_dates(in_construction, people):
    train = in_construction
    ends = _ends(train)
    with pytest.raises(ValidationError) as error:  # out of order
        services.plan_move(
            train=train,
            by=people["manager"],
            reason="squeeze",
            phase_ends={PhaseKind.VERIFICATION: ends[PhaseKind.CONSTRUCTION]},
        )
    assert "must end after Construction" in error.value.message_dict["phase_verification"][0]
    with pytest.raises(ValidationError) as error:  # outside the window
        services.plan_move(
            train=train,
            by=people["manager"],
            reason="stretch",
            phase_ends={PhaseKind.DEPLOYMENT: train.end_date + timedelta(days=5)},
        )
    assert "cannot end after the train ends" in error.value.message_dict["phase_deployment"][0]


def test_milestones_move_inside_the_window_and_reached_ones_stay(in_construction, people):
    train, manager = in_construction, people["manager"]
    due = train.start_date + timedelta(days=10)
    first = services.milestone_add(train=train, by=manager, name="Code freeze", due_date=due)
    done = services.milestone_add(train=train, by=manager, name="Kick-off", due_date=due)
    services.milestone_reach(milestone=done, by=manager)
    services.plan_move(
        train=train,
        by=manager,
        reason="later freeze",
        milestone_dues={first.pk: due + timedelta(2)},
    )
    assert fresh(first).due_date == due + timedelta(days=2)
    event = train.events.get(kind=EventKind.PLAN)
    assert event.data["milestones"][str(first.pk)] == [
        due.isoformat(),
        (due + timedelta(days=2)).isoformat(),
    ]
    with pytest.raises(ValidationError, match="was reached"):
        services.plan_move(
            train=train, by=manager, reason="x", milestone_dues={done.pk: due + timedelta(1)}
        )
    with pytest.raises(ValidationError, match="inside the train's dates"):
        services.plan_move(
            train=train,
            by=manager,
            reason="x",
            milestone_dues={first.pk: train.end_date + timedelta(days=1)},
        )


def test_the_edit_form_service_refuses_moving_an_ended_phase_too(in_construction, people):
    train = in_construction
    with pytest.raises(ValidationError, match="cannot move"):
        services.train_update(
            train=train,
            by=people["manager"],
            phase_ends={PhaseKind.SCOPING: _ends(train)[PhaseKind.SCOPING] - timedelta(1)},
        )


def test_only_the_trains_managers_move_dates(in_construction, people, other_manager):
    with pytest.raises(NotAllowed):
        services.plan_move(train=in_construction, by=other_manager, reason="mine now")


def test_a_new_baseline_is_taken_on_purpose_and_old_ones_stay(in_construction, people):
    train, manager = in_construction, people["manager"]
    ends = _ends(train)
    services.plan_move(
        train=train,
        by=manager,
        reason="slip",
        phase_ends={PhaseKind.DEPLOYMENT: ends[PhaseKind.DEPLOYMENT] + timedelta(days=1)},
    )
    assert train_status(fresh(train)).slip.total == 1
    with pytest.raises(ValidationError):
        services.baseline_take(train=train, by=manager, reason="")
    second = services.baseline_take(train=train, by=manager, reason="Re-planned with the CAB")
    assert second.number == 2
    assert list(train.baselines.values_list("number", flat=True)) == [2, 1]
    slip = train_status(fresh(train)).slip
    assert (slip.baseline, slip.total) == (2, 0)
    event = train.events.filter(kind=EventKind.BASELINE).first()
    assert event.data["reason"] == "Re-planned with the CAB"


def test_no_baseline_in_scoping(people):
    train = make_train(people["manager"])
    with pytest.raises(InvalidState, match="construction starts"):
        services.baseline_take(train=train, by=people["manager"], reason="early")
    assert train_status(train).slip is None


# Health ------------------------------------------------------------------------------------


def test_a_train_on_track_is_green(people):
    status = train_status(make_train(people["manager"], **schedule(step=10)))
    assert status.health == Health.GREEN
    assert status.health_text == "On track"


def test_an_overdue_current_phase_is_red(people):
    start = timezone.localdate() - timedelta(days=20)
    train = make_train(people["manager"], **schedule(start, step=10))  # scoping ended 10 days ago
    status = train_status(train)
    assert status.health == Health.RED
    assert status.health_text == "Scoping is 10 days overdue"


def test_a_deadline_close_with_unmet_criteria_is_amber(people, settings):
    settings.HEALTH_AMBER_DAYS = 3
    start = timezone.localdate() - timedelta(days=8)
    train = make_train(people["manager"], **schedule(start, step=10))  # scoping ends in 2 days
    status = train_status(train)
    assert status.health == Health.AMBER
    assert status.health_text.startswith("Scoping ends in 2 days with")
    settings.HEALTH_AMBER_DAYS = 1
    assert train_status(fresh(train)).health == Health.GREEN


def test_slip_beyond_the_threshold_is_amber(in_construction, people, settings):
    settings.HEALTH_AMBER_SLIP_DAYS = 5
    train = in_construction
    ends = _ends(train)
    services.plan_move(
        train=train,
        by=people["manager"],
        reason="slip",
        end_date=train.end_date + timedelta(days=6),
        phase_ends={PhaseKind.DEPLOYMENT: ends[PhaseKind.DEPLOYMENT] + timedelta(days=6)},
    )
    status = train_status(fresh(train))
    assert status.health == Health.AMBER
    assert "6 days behind baseline 1" in status.health_text


def test_closed_and_cancelled_trains_have_no_health(people):
    train = make_train(people["manager"])
    services.train_transition(train=train, name="cancel", by=people["manager"], reason="no")
    assert train_status(fresh(train)).health is None


def test_an_override_shows_who_and_why_and_lapses_on_its_date(people):
    manager = people["manager"]
    train = make_train(manager, **schedule(step=10))
    today = timezone.localdate()
    until = today + timedelta(days=3)
    services.health_override_set(
        train=train, by=manager, health=Health.RED, reason="Vendor outage", until=until
    )
    status = train_status(fresh(train))
    assert (status.health, status.computed_health) == (Health.RED, Health.GREEN)
    assert status.override.by == "manager"
    assert status.health_text == f"Set by manager until {until}: Vendor outage"
    assert train_status(fresh(train), today=until - timedelta(days=1)).health == Health.RED
    lapsed = train_status(fresh(train), today=until)
    assert lapsed.override is None and lapsed.health == Health.GREEN
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        assert train_status(fresh(train)).health == Health.GREEN
    event = train.events.get(kind=EventKind.HEALTH)
    assert event.data == {"health": "red", "until": until.isoformat(), "reason": "Vendor outage"}


def test_an_override_needs_a_reason_and_a_later_day(people):
    manager = people["manager"]
    train = make_train(manager)
    today = timezone.localdate()
    with pytest.raises(ValidationError, match="reason"):
        services.health_override_set(
            train=train, by=manager, health="amber", reason="", until=today + timedelta(1)
        )
    with pytest.raises(ValidationError, match="after today"):
        services.health_override_set(
            train=train, by=manager, health="amber", reason="why", until=today
        )
    with pytest.raises(ValidationError, match="green, amber or red"):
        services.health_override_set(
            train=train, by=manager, health="blue", reason="why", until=today + timedelta(1)
        )
    assert fresh(train).health_override == ""
    assert not TrainEvent.objects.filter(train=train, kind=EventKind.HEALTH).exists()


def test_clearing_an_override_is_recorded(people, other_manager):
    manager = people["manager"]
    train = make_train(manager)
    until = timezone.localdate() + timedelta(days=5)
    services.health_override_set(train=train, by=manager, health="amber", reason="r", until=until)
    with pytest.raises(NotAllowed):
        services.health_override_clear(train=train, by=other_manager)
    services.health_override_clear(train=train, by=manager, reason="resolved")
    train = fresh(train)
    assert train.health_override == "" and train.health_override_until is None
    assert train_status(train).override is None
    messages = list(train.events.filter(kind=EventKind.HEALTH).values_list("message", flat=True))
    assert messages[0] == "Health override (amber) cleared: resolved"


def test_an_overdue_current_phase_moves_and_is_red_no_more(people):
    # the current phase's end moves even when overdue: that is what re-planning is for
    start = timezone.localdate() - timedelta(days=20)
    train, *_ = drive(
        make_train(people["manager"], **schedule(start, step=10)), "construction", **people
    )
    Phase.objects.filter(train=train, kind=PhaseKind.CONSTRUCTION).update(
        planned_end=timezone.localdate() - timedelta(days=1)
    )
    assert train_status(fresh(train)).health == Health.RED
    services.plan_move(
        train=train,
        by=people["manager"],
        reason="more time",
        phase_ends={PhaseKind.CONSTRUCTION: timezone.localdate() + timedelta(days=1)},
    )
    assert train_status(fresh(train)).health != Health.RED
