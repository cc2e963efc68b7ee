"""Creating and editing trains: dates, names, phases."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from releasemgr.exceptions import NotAllowed
from tests.factories import make_train, schedule
from trains import services
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


def test_update_moves_phase_dates_and_records_it(manager):
    train = make_train(manager)
    later = train.end_date + timedelta(days=5)
    services.train_update(train=train, by=manager, end_date=later, phase_ends={"deployment": later})
    train.refresh_from_db()
    assert train.end_date == later
    assert train.phases.get(kind="deployment").planned_end == later
    assert train.events.filter(kind="updated", message="Changed end_date, deployment end").exists()


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
