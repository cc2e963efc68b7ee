"""Templates, clones and cadence: the services (trains/services/templates.py) and the
pure rules they use (trains/planning.py)."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from guardian.shortcuts import get_perms

from approvals.models import ApprovalRequirement, Gate
from releasemgr.exceptions import NotAllowed
from tests.factories import ReleaseFactory, make_train, schedule, scope
from trains import access, planning, services
from trains.choices import PhaseKind, TrainType
from trains.models import (
    CadenceSchedule,
    ReleaseTrain,
    ScheduledTrain,
    TemplateEvent,
    TrainEvent,
)
from trains.services import templates as t

pytestmark = pytest.mark.django_db

START = date(2027, 1, 4)  # a Monday


@pytest.fixture(autouse=True)
def _executives(executive):
    """The executive gate asks the executives group: it has a member."""


def _source(manager, owner, **overrides):
    train = make_train(manager, name="2027.01 Monthly train", **schedule(START), **overrides)
    scope(train, manager=manager, owner=owner)
    services.milestone_add(
        train=train, by=manager, name="Code freeze", due_date=START + timedelta(days=10)
    )
    manual = services.criterion_add(
        train=train, by=manager, phase=PhaseKind.SCOPING, description="Scope agreed"
    )
    services.criterion_set_met(criterion=manual, by=manager, met=True)
    return train


# Clone ---------------------------------------------------------------------------------


def test_clone_shifts_every_date_and_copies_the_plan(manager, owner, stakeholder):
    source = _source(manager, owner)
    services.train_grant(train=source, by=manager, user=stakeholder)
    new_start = date(2027, 3, 1)
    clone = t.train_clone(train=source, by=manager, start_date=new_start)
    shift = new_start - START
    assert clone.name == "2027.03 Monthly train"
    assert clone.state == "scoping"
    assert (clone.start_date, clone.end_date) == (new_start, source.end_date + shift)
    ends = {p.kind: p.planned_end for p in clone.phases.all()}
    assert ends == {p.kind: p.planned_end + shift for p in source.phases.all()}
    assert [(m.name, m.due_date) for m in clone.milestones.all()] == [
        ("Code freeze", new_start + timedelta(days=10))
    ]
    source_criteria = [(c.phase, c.description, c.rule) for c in source.criteria.order_by("id")]
    assert [(c.phase, c.description, c.rule) for c in clone.criteria.order_by("id")] == (
        source_criteria
    )
    assert not clone.criteria.filter(met_at__isnull=False).exists()  # manual ones unticked
    assert sorted(
        (r.gate, r.user_id, r.group_id, r.required_approvals)
        for r in clone.approval_requirements.all()
    ) == sorted(
        (r.gate, r.user_id, r.group_id, r.required_approvals)
        for r in source.approval_requirements.all()
    )
    assert access.can_view(stakeholder, clone)
    assert not clone.application_releases.exists()  # releases stay on their train
    assert TrainEvent.objects.filter(train=clone, data__cloned_from=source.pk).exists()
    assert TrainEvent.objects.filter(train=source, data__cloned_into=clone.pk).exists()


def test_emergency_clone_keeps_its_compressed_schedule(manager):
    day = START + timedelta(days=2)
    ends = {
        PhaseKind.SCOPING: START,
        PhaseKind.CONSTRUCTION: day,
        PhaseKind.VERIFICATION: day,
        PhaseKind.DEPLOYMENT: day,
    }
    source = make_train(
        manager, train_type=TrainType.EMERGENCY, start_date=START, end_date=day, phase_ends=ends
    )
    clone = t.train_clone(train=source, by=manager, start_date=date(2027, 5, 10), name="Hotfix 2")
    got = {p.kind: p.planned_end for p in clone.phases.all()}
    assert got[PhaseKind.SCOPING] == date(2027, 5, 10)
    assert got[PhaseKind.CONSTRUCTION] == got[PhaseKind.DEPLOYMENT] == date(2027, 5, 12)
    assert clone.end_date == date(2027, 5, 12)


def test_clone_adds_the_chosen_next_releases(manager, owner):
    source = _source(manager, owner)
    app = source.application_releases.first().application
    nxt = ReleaseFactory(application=app, version="9.0")
    ReleaseFactory(application__product_owner=owner)  # another application: not offered
    assert t.next_planned_releases(source) == [nxt]
    clone = t.train_clone(train=source, by=manager, start_date=date(2027, 3, 1), releases=[nxt])
    nxt.refresh_from_db()
    assert nxt.train_id == clone.pk


def test_only_release_managers_clone(manager, owner, stakeholder):
    source = _source(manager, owner)
    services.train_grant(train=source, by=manager, user=stakeholder)
    with pytest.raises(NotAllowed):
        t.train_clone(train=source, by=stakeholder, start_date=date(2027, 3, 1))
    assert ReleaseTrain.objects.count() == 1


def test_clone_with_a_taken_name_is_refused_and_nothing_is_written(manager, owner):
    source = _source(manager, owner)
    with pytest.raises(ValidationError) as error:
        t.train_clone(train=source, by=manager, start_date=date(2027, 3, 1), name=source.name)
    assert "name" in error.value.message_dict
    assert ReleaseTrain.objects.count() == 1
    assert not TrainEvent.objects.filter(data__cloned_into__isnull=False).exists()


# Templates -----------------------------------------------------------------------------


def test_save_a_train_as_template_and_make_a_train_from_it(manager, other_manager, owner):
    source = _source(manager, owner)
    template = t.template_save(train=source, by=manager, name="Monthly minor train")
    assert template.name_pattern == "{year}.{month:02} Monthly train"
    assert template.duration_days == (source.end_date - source.start_date).days
    assert TrainEvent.objects.filter(train=source, data__template=template.pk).exists()
    train = t.train_from_template(template=template, by=other_manager, start_date=date(2027, 6, 7))
    assert train.name == "2027.06 Monthly train"
    assert train.primary_manager == manager
    assert train.milestones.get().due_date == date(2027, 6, 17)
    assert train.approval_requirements.count() == 2
    assert template.events.count() == 2


def test_template_changes_are_history_old_to_new(manager, owner):
    template = t.template_save(train=_source(manager, owner), by=manager, name="Monthly")
    t.template_update(template=template, by=manager, name="Monthly minor", duration_days=40)
    event = template.events.first()
    assert event.message == ("Changed name: Monthly → Monthly minor; window length (days): 29 → 40")
    assert event.data["changes"] == {
        "name": ["Monthly", "Monthly minor"],
        "duration_days": [29, 40],
    }


def test_template_refuses_a_window_shorter_than_its_phases_and_bad_patterns(manager, owner):
    template = t.template_save(train=_source(manager, owner), by=manager, name="Monthly")
    with pytest.raises(ValidationError) as error:
        t.template_update(
            template=template, by=manager, duration_days=3, name_pattern="{yaer} train"
        )
    assert set(error.value.message_dict) == {"duration_days", "name_pattern"}
    assert "Unknown placeholder {yaer}" in error.value.message_dict["name_pattern"][0]
    template.refresh_from_db()
    assert template.duration_days == 29
    assert template.events.count() == 1


def test_template_names_are_unique(manager, owner):
    source = _source(manager, owner)
    t.template_save(train=source, by=manager, name="Monthly")
    with pytest.raises(ValidationError) as error:
        t.template_save(train=source, by=manager, name="monthly")
    assert error.value.message_dict == {"name": ["A template already has this name."]}


# Patterns and cadences -----------------------------------------------------------------


def test_pattern_from_a_name():
    assert planning.pattern_from_name("2026.11 Monthly", date(2026, 11, 2)) == (
        "{year}.{month:02} Monthly"
    )
    assert planning.pattern_from_name("Q4 2026 {x}", date(2026, 11, 2)) == "Q{quarter} {year} {{x}}"
    assert planning.render_name("Q{quarter} {year} {{x}}", date(2027, 2, 1)) == "Q1 2027 {x}"


def _schedule(**fields):
    return CadenceSchedule(
        **{
            "cadence": "weeks",
            "interval": 1,
            "start_date": START,
            "name_pattern": "{year}-{week}",
            **fields,
        }
    )


def _take(days, n):
    return [d for _, d in zip(range(n), days, strict=False)]


def test_first_monday_of_every_month():
    s = _schedule(cadence="monthly_weekday", ordinal=1, weekday=0, start_date=date(2027, 1, 5))
    assert _take(planning.occurrences(s), 3) == [
        date(2027, 2, 1),
        date(2027, 3, 1),
        date(2027, 4, 5),
    ]
    assert planning.describe_schedule(s) == "first Monday of every month from 2027-01-05"


def test_every_two_weeks_and_quarterly_and_last_friday():
    two = _schedule(interval=2)
    assert _take(planning.occurrences(two, after=date(2027, 1, 5)), 2) == [
        date(2027, 1, 18),
        date(2027, 2, 1),
    ]
    quarterly = _schedule(cadence="quarterly", start_date=date(2027, 1, 31))
    assert _take(planning.occurrences(quarterly), 3) == [
        date(2027, 1, 31),
        date(2027, 4, 30),
        date(2027, 7, 31),
    ]
    last = _schedule(cadence="monthly_weekday", ordinal=-1, weekday=4, end_date=date(2027, 3, 1))
    assert list(planning.occurrences(last)) == [date(2027, 1, 29), date(2027, 2, 26)]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"end_date": date(2026, 12, 1)}, "end_date", "cannot end before it starts"),
        ({"name_pattern": "{year} train"}, "name_pattern", "alike"),
        ({"name_pattern": "{fiscal_year} train"}, "name_pattern", "Unknown placeholder"),
        ({"name_pattern": "{year train"}, "name_pattern", "not well formed"),
        ({"cadence": "monthly_weekday", "ordinal": 7, "weekday": 0}, "ordinal", "1 to 4"),
    ],
)
def test_bad_schedules_are_refused_on_their_field(manager, owner, fields, field, words):
    template = t.template_save(train=_source(manager, owner), by=manager, name="Weekly")
    with pytest.raises(ValidationError) as error:
        t.schedule_create(
            template=template,
            by=manager,
            **{
                "cadence": "weeks",
                "interval": 1,
                "start_date": START,
                "name_pattern": "{year}-{week}",
                **fields,
            },
        )
    assert words in " ".join(error.value.message_dict[field])
    assert not CadenceSchedule.objects.exists()


def _monthly(manager, owner):
    template = t.template_save(train=_source(manager, owner), by=manager, name="Monthly")
    return t.schedule_create(
        template=template,
        by=manager,
        cadence="monthly_weekday",
        ordinal=1,
        weekday=0,
        start_date=date(2027, 2, 1),
        name_pattern="{year}.{month:02} Monthly",
    )


def test_a_run_makes_the_next_trains_once(manager, owner, settings):
    settings.CADENCE_AHEAD = 2
    plan = _monthly(manager, owner)
    made = t.cadences_run(today=date(2027, 1, 20))
    assert [x.name for x in made] == ["2027.02 Monthly", "2027.03 Monthly"]
    assert [x.start_date for x in made] == [date(2027, 2, 1), date(2027, 3, 1)]
    assert t.cadences_run(today=date(2027, 1, 20)) == []  # idempotent
    assert t.cadences_run(today=date(2027, 2, 2)) == [
        ReleaseTrain.objects.get(name="2027.04 Monthly")
    ]
    assert ScheduledTrain.objects.filter(schedule=plan).count() == 3
    assert plan.template.events.filter(message__startswith="Train 2027.04 Monthly made").exists()
    made_event = TrainEvent.objects.filter(train=made[0], message__contains="schedule").get()
    assert made_event.actor == manager


def test_a_paused_schedule_makes_nothing(manager, owner):
    plan = _monthly(manager, owner)
    t.schedule_set_paused(schedule=plan, by=manager, paused=True)
    assert t.cadences_run(today=date(2027, 1, 20)) == []
    assert t.schedule_run(schedule=plan, today=date(2027, 1, 20)) == []
    event = plan.template.events.first()
    assert event.message.startswith("Schedule paused: first Monday of every month")
    t.schedule_set_paused(schedule=plan, by=manager, paused=False)
    assert len(t.cadences_run(today=date(2027, 1, 20))) == 2


def test_a_taken_name_is_skipped_and_said(manager, owner):
    plan = _monthly(manager, owner)
    make_train(manager, name="2027.02 Monthly", **schedule(date(2027, 1, 10)))
    made = t.cadences_run(today=date(2027, 1, 20))
    assert [x.name for x in made] == ["2027.03 Monthly"]
    plan.refresh_from_db()
    assert "2027.02 Monthly (2027-02-01): An open train already has this name." in plan.last_error


def test_schedule_changes_and_removal_are_history(manager, owner):
    plan = _monthly(manager, owner)
    t.schedule_update(schedule=plan, by=manager, ordinal=-1)
    assert plan.template.events.first().message == (
        "Schedule changed: first Monday of every month from 2027-02-01, named {year}.{month:02} "
        "Monthly → last Monday of every month from 2027-02-01, named {year}.{month:02} Monthly"
    )
    template = plan.template
    t.schedule_delete(schedule=plan, by=manager)
    assert not CadenceSchedule.objects.exists()
    assert TemplateEvent.objects.filter(template=template, data__removed=True).exists()


def test_schedules_are_for_release_managers(manager, owner, qa):
    plan = _monthly(manager, owner)
    with pytest.raises(NotAllowed):
        t.schedule_set_paused(schedule=plan, by=qa, paused=True)


def test_clone_copies_manage_sharing_to_release_managers_only(manager, other_manager, owner):
    source = _source(manager, owner)
    services.train_grant(train=source, by=manager, user=other_manager, level="manage")
    clone = t.train_clone(train=source, by=other_manager, start_date=date(2027, 3, 1))
    assert clone.primary_manager == other_manager
    assert "manage_releasetrain" in get_perms(manager, clone)
    assert ApprovalRequirement.objects.filter(train=clone, gate=Gate.EXECUTIVE).exists()


def test_beat_runs_the_cadence_task(manager, owner, settings):
    from trains.tasks import run_cadences

    settings.CADENCE_AHEAD = 2
    assert settings.CELERY_BEAT_SCHEDULE["run-cadences"]["task"] == "trains.tasks.run_cadences"
    _monthly(manager, owner)
    result = run_cadences.apply().get()
    assert len(result["made"]) == 2
    assert run_cadences.apply().get()["made"] == []
