"""Creating and editing trains: dates, names, phases."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from releasemgr.exceptions import NotAllowed
from tests.factories import fresh, make_train, schedule
from trains import services
from trains.choices import EventKind, TrainType
from trains.models import ReleaseTrain

pytestmark = pytest.mark.django_db


def _errors(excinfo):
    return excinfo.value.message_dict


def test_end_before_start_is_refused_and_nothing_saved(manager):
    dates = schedule()
    with pytest.raises(ValidationError) as excinfo:
        make_train(manager, end_date=dates["start_date"] - timedelta(days=1))
    assert "end_date" in _errors(excinfo)
    assert not ReleaseTrain.objects.exists()


def test_phase_outside_the_window_is_refused(manager):
    dates = schedule()
    ends = dict(dates["phase_ends"], deployment=dates["end_date"] + timedelta(days=3))
    with pytest.raises(ValidationError) as excinfo:
        make_train(manager, phase_ends=ends)
    assert "cannot end after the train ends" in _errors(excinfo)["phase_deployment"][0]


def test_phases_out_of_order_are_refused(manager):
    dates = schedule()
    ends = dict(dates["phase_ends"])
    ends["verification"], ends["construction"] = ends["construction"], ends["verification"]
    with pytest.raises(ValidationError) as excinfo:
        make_train(manager, phase_ends=ends)
    assert "must end after Construction" in _errors(excinfo)["phase_verification"][0]


def test_emergency_train_may_compress_its_schedule(manager):
    day = schedule()["start_date"]
    ends = {k: day for k in ("scoping", "construction", "verification", "deployment")}
    train = make_train(
        manager, train_type="emergency", start_date=day, end_date=day, phase_ends=ends
    )
    assert train.phases.filter(planned_end=day).count() == 4
    with pytest.raises(ValidationError):
        make_train(manager, train_type="minor", start_date=day, end_date=day, phase_ends=ends)


def test_duplicate_name_among_open_trains_is_refused(manager):
    make_train(manager, name="Q1 train")
    with pytest.raises(ValidationError) as excinfo:
        make_train(manager, name="q1 TRAIN")
    assert _errors(excinfo)["name"] == ["An open train already has this name."]


def test_name_is_free_again_once_the_train_is_cancelled(manager):
    first = make_train(manager, name="Q1 train")
    services.train_transition(train=first, name="cancel", by=manager, reason="replanned")
    assert make_train(manager, name="Q1 train").state == "scoping"


def test_only_release_managers_submit_trains(owner, manager):
    with pytest.raises(NotAllowed):
        make_train(owner, primary_manager=manager)


def test_primary_manager_must_be_a_release_manager(manager, owner):
    with pytest.raises(ValidationError) as excinfo:
        make_train(manager, primary_manager=owner)
    assert "primary_manager" in _errors(excinfo)


def test_update_moves_phase_dates_and_records_them_from_old_to_new(manager):
    train = make_train(manager)
    end, deployment_end = train.end_date, train.phases.get(kind="deployment").planned_end
    later = train.end_date + timedelta(days=5)
    services.train_update(train=train, by=manager, end_date=later, phase_ends={"deployment": later})
    train.refresh_from_db()
    assert train.end_date == later
    assert train.phases.get(kind="deployment").planned_end == later
    event = train.events.get(kind=EventKind.UPDATED)
    assert event.message == (
        f"Changed end date: {end:%Y-%m-%d} → {later:%Y-%m-%d}; "
        f"deployment end: {deployment_end:%Y-%m-%d} → {later:%Y-%m-%d}"
    )
    assert event.data == {
        "changes": {
            "end_date": [end.isoformat(), later.isoformat()],
            "phase_deployment": [deployment_end.isoformat(), later.isoformat()],
        }
    }


def test_update_records_each_change_with_people_by_name(manager, other_manager, engineer):
    other_manager.first_name, other_manager.last_name = "Olga", "Other"
    other_manager.save()
    train = make_train(manager, purpose="Spring features")
    services.train_update(
        train=train,
        by=manager,
        name="Renamed",
        purpose="x" * 300,
        train_type=TrainType.PATCH,
        primary_manager=other_manager,
        release_engineers=[engineer],
    )
    event = fresh(train).events.get(kind=EventKind.UPDATED)
    assert event.message.startswith(
        f"Changed name: {train.name} → Renamed; purpose: Spring features → xxx"
    )
    assert "…; type: Minor → Patch; primary release manager: manager → Olga Other; " in (
        event.message
    )
    assert event.message.endswith("; release engineers: none → engineer")
    assert event.data["changes"] == {
        "name": [train.name, "Renamed"],
        "purpose": ["Spring features", "x" * 300],
        "train_type": [TrainType.MINOR, TrainType.PATCH],
        "primary_manager": [manager.pk, other_manager.pk],
        "release_engineers": [[], [engineer.pk]],
    }
    assert json.loads(json.dumps(event.data)) == event.data


def test_update_that_changes_nothing_records_nothing(manager, engineer):
    train = make_train(manager, release_engineers=[engineer])
    updated_at = train.updated_at
    services.train_update(
        train=train,
        by=manager,
        name=f"  {train.name} ",
        purpose=train.purpose,
        train_type=train.train_type,
        primary_manager=manager,
        start_date=train.start_date,
        end_date=train.end_date,
        phase_ends={p.kind: p.planned_end for p in train.phases.all()},
        release_engineers=[engineer],
    )
    assert not train.events.filter(kind=EventKind.UPDATED).exists()
    assert fresh(train).updated_at == updated_at


def test_update_does_not_report_engineers_it_did_not_change(manager, engineer):
    train = make_train(manager, release_engineers=[engineer])
    services.train_update(train=train, by=manager, purpose="New", release_engineers=[engineer])
    event = train.events.get(kind=EventKind.UPDATED)
    assert event.message == "Changed purpose: none → New"
    assert event.data == {"changes": {"purpose": ["", "New"]}}


def test_update_with_bad_dates_changes_nothing(manager):
    train = make_train(manager)
    before = train.end_date
    with pytest.raises(ValidationError):
        services.train_update(
            train=train, by=manager, end_date=train.start_date - timedelta(days=1)
        )
    train.refresh_from_db()
    assert train.end_date == before
    assert not train.events.filter(kind="updated").exists()
