"""The reminder scan, day by day with frozen time: offsets, overdue, escalation, once only."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import drive, fresh, make_train, schedule
from trains import services
from trains.models import ExitCriterion, Milestone, Notification, Phase, Reminder
from trains.notifications import selectors
from trains.notifications import services as notifications

from .conftest import START

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
SCOPING_END = START + 7 * DAY  # schedule(START): phases end 7, 14, 21 and 28 days in
VERIFICATION_END = START + 21 * DAY


def scan(clock, day):
    clock.on(day)
    result = notifications.reminders_scan()
    notifications.reminders_fan_out()  # the dispatcher's first step
    return result


def reminded(**filters):
    return list(
        Reminder.objects.filter(**filters).order_by("day", "kind").values_list("day", "kind")
    )


def recipients(reminder):
    return set(reminder.notifications.values_list("recipient__username", flat=True))


def test_phase_end_is_reminded_7_2_and_1_days_before_and_on_no_other_day(clock, manager):
    train = make_train(manager, **schedule(START))
    for offset in range(7):
        scan(clock, START + offset * DAY)
    assert reminded(train=train) == [
        (START, "due_soon"),
        (SCOPING_END - 2 * DAY, "due_soon"),
        (SCOPING_END - DAY, "due_soon"),
    ]
    first = Reminder.objects.filter(train=train).order_by("day").first()
    assert (first.target, first.label, first.due_date) == ("phase", "End of scoping", SCOPING_END)
    assert recipients(first) == {"manager"}
    assert first.notifications.get().kind == "deadline"


def test_offsets_come_from_settings(clock, manager, settings):
    settings.REMINDER_OFFSETS_DAYS = [3]
    train = make_train(manager, **schedule(START))
    assert scan(clock, START).reminders == []
    assert len(scan(clock, SCOPING_END - 3 * DAY).reminders) == 1
    assert reminded(train=train) == [(SCOPING_END - 3 * DAY, "due_soon")]


def test_scanning_again_the_same_day_writes_and_sends_nothing_new(clock, manager):
    make_train(manager, **schedule(START))
    first = scan(clock, START)
    clock.shift(timedelta(hours=5))
    second = notifications.reminders_scan()
    assert notifications.reminders_fan_out() == 0
    assert (first.due, len(first.reminders)) == (1, 1)
    assert (second.due, second.reminders) == (0, [])
    assert Reminder.objects.count() == Notification.objects.filter(reminder__isnull=False).count()


def test_overdue_is_reminded_every_day_and_escalates_to_the_gate_approvers(clock, crew):
    train, *_ = drive(make_train(crew["manager"], **schedule(START)), "verification", **crew)
    for offset in range(1, 5):
        scan(clock, VERIFICATION_END + offset * DAY)
    assert reminded(train=train, target="phase") == [
        (VERIFICATION_END + DAY, "overdue"),
        (VERIFICATION_END + 2 * DAY, "overdue"),
        (VERIFICATION_END + 3 * DAY, "escalation"),
        (VERIFICATION_END + 3 * DAY, "overdue"),
        (VERIFICATION_END + 4 * DAY, "escalation"),
        (VERIFICATION_END + 4 * DAY, "overdue"),
    ]
    overdue = Reminder.objects.filter(train=train, kind="overdue").first()
    escalation = Reminder.objects.filter(train=train, kind="escalation").first()
    # verification waits for the managers and QA; it closes at the executive gate
    assert recipients(overdue) == {"manager", "qa"}
    assert recipients(escalation) == {"executive"}
    assert escalation.notifications.get().kind == "escalation"


def test_escalation_threshold_comes_from_settings(clock, manager, settings):
    settings.REMINDER_ESCALATE_AFTER_DAYS = 1
    train = make_train(manager, **schedule(START))
    scan(clock, SCOPING_END + DAY)
    assert reminded(train=train) == [
        (SCOPING_END + DAY, "escalation"),
        (SCOPING_END + DAY, "overdue"),
    ]


def test_overdue_is_reminded_daily_for_a_week_then_weekly_until_the_train_closes(clock, crew):
    manager = crew["manager"]
    train = make_train(manager, **schedule(START))
    for offset in range(1, 120):  # four months of daily scans, far past the old 90 days
        scan(clock, SCOPING_END + offset * DAY)
    overdue = [(day - SCOPING_END).days for day, _ in reminded(train=train, kind="overdue")]
    assert overdue == [1, 2, 3, 4, 5, 6, 7, *range(14, 120, 7)]
    assert [(d - SCOPING_END).days for d, _ in reminded(train=train, kind="escalation")] == [
        3,
        4,
        5,
        6,
        7,
        *range(14, 120, 7),
    ]
    services.train_transition(train=fresh(train), name="cancel", by=manager, reason="Late")
    scan(clock, SCOPING_END + 126 * DAY)
    assert len(reminded(train=train, kind="overdue")) == len(overdue)


def test_a_scan_after_days_without_workers_sends_what_fell_due_once(clock, manager):
    near = make_train(manager, **schedule(START))  # scoping ends START + 7
    late = make_train(manager, **schedule(START - 9 * DAY))  # scoping ended 2 days ago
    scan(clock, START)  # near: 7 days ahead; late: overdue by 2
    # no worker for five days: near's 2-days-ahead reminder and late's daily ones fell due
    caught_up = scan(clock, START + 6 * DAY)
    assert (len(caught_up.reminders), caught_up.due) == (3, 2)  # late escalates too
    assert reminded(train=near) == [(START, "due_soon"), (START + 6 * DAY, "due_soon")]
    assert reminded(train=late, kind="overdue") == [
        (START, "overdue"),
        (START + 6 * DAY, "overdue"),
    ]
    # once: scanning again that day finds nothing; late is now weekly, counted from today
    assert notifications.reminders_scan().reminders == []
    for offset in range(7, 13):
        scan(clock, START + offset * DAY)
    assert [d for d, _ in reminded(train=late, kind="overdue")] == [START, START + 6 * DAY]
    scan(clock, START + 13 * DAY)
    assert [d for d, _ in reminded(train=late, kind="overdue")][-1] == START + 13 * DAY


def test_a_deadline_whose_last_reminder_was_missed_is_due_today(clock, manager):
    train = make_train(manager, **schedule(START))
    scan(clock, START)
    scan(clock, SCOPING_END)  # no scan 2 days or 1 day before
    (reminder,) = Reminder.objects.filter(train=train, day=SCOPING_END)
    assert (reminder.kind, reminder.days_left) == ("due_soon", 0)
    (row,) = reminder.notifications.all()
    notifications.notifications_send()
    assert Notification.objects.get(pk=row.pk).subject.startswith("[releasemgr] Due today:")


def test_only_the_phase_the_train_is_in_is_reminded(clock, crew):
    train, *_ = drive(make_train(crew["manager"], **schedule(START)), "construction", **crew)
    # scoping is over (ended 7 days ago); construction ends in 7 days; verification in 14
    scan(clock, START + 7 * DAY)
    # verification ends in 7 days, but the train is still in construction (ending today,
    # its 1-day reminder missed: caught up today)
    scan(clock, START + 14 * DAY)
    assert reminded(train=train, target="phase") == [
        (START + 7 * DAY, "due_soon"),
        (START + 14 * DAY, "due_soon"),
    ]
    assert set(Reminder.objects.filter(train=train).values_list("phase", flat=True)) == {
        "construction"
    }
    reminder = Reminder.objects.filter(train=train, target="phase").first()
    assert reminder.phase == "construction"
    # construction waits for the product owners of the train's releases too
    assert recipients(reminder) == {"manager", "owner"}


def test_an_exit_criterion_is_reminded_while_unticked_and_its_phase_not_over(clock, crew):
    manager, qa = crew["manager"], crew["qa"]
    train = make_train(manager, **schedule(START))
    past_phase = services.criterion_add(
        train=train,
        by=manager,
        phase="construction",
        description="Threat model",
        required=False,
        due_date=START + 16 * DAY,
    )
    drive(train, "verification", **crew)
    load_test = services.criterion_add(
        train=train,
        by=manager,
        phase="verification",
        description="Load test",
        due_date=START + 2 * DAY,
    )
    scan(clock, START)
    assert reminded(target="criterion") == [(START, "due_soon")]
    reminder = Reminder.objects.get(target="criterion")
    assert (reminder.target_id, reminder.label, reminder.phase) == (
        load_test.pk,
        "Load test",
        "verification",
    )
    assert recipients(reminder) == {"manager", "qa"}  # QA ticks verification criteria
    services.criterion_set_met(criterion=load_test, by=qa, met=True)
    # the load test is ticked; the threat model is due tomorrow but construction is over
    scan(clock, START + 15 * DAY)
    assert reminded(target="criterion") == [(START, "due_soon")]
    assert past_phase.pk not in Reminder.objects.values_list("target_id", flat=True)


def test_a_milestone_is_reminded_until_it_is_reached(clock, manager):
    train = make_train(manager, **schedule(START))
    milestone = services.milestone_add(
        train=train, by=manager, name="Code freeze", due_date=START + 3 * DAY
    )
    scan(clock, START + DAY)
    services.milestone_reach(milestone=milestone, by=manager)
    scan(clock, START + 2 * DAY)
    scan(clock, START + 4 * DAY)
    assert reminded(target="milestone") == [(START + DAY, "due_soon")]
    reminder = Reminder.objects.get(target="milestone")
    assert (reminder.label, reminder.phase, recipients(reminder)) == (
        "Code freeze",
        "scoping",
        {"manager"},
    )


def test_cancelled_and_closed_trains_are_not_reminded(clock, crew):
    manager = crew["manager"]
    cancelled = make_train(manager, **schedule(START))
    services.milestone_add(train=cancelled, by=manager, name="Kick-off", due_date=START + DAY * 9)
    services.train_transition(train=cancelled, name="cancel", by=manager, reason="No budget")
    closed = make_train(manager, **schedule(START))
    services.milestone_add(train=closed, by=manager, name="Go-live", due_date=START + DAY * 20)
    drive(closed, "closed", **crew)
    for offset in (0, 7, 8, 20, 29, 40):
        scan(clock, START + offset * DAY)
    assert not Reminder.objects.exists()
    # their parts have left the scan's indexes (the `train_open` copy of the state)
    for parts in (Phase, Milestone, ExitCriterion):
        assert not parts.objects.filter(train__in=[cancelled, closed], train_open=True).exists()


def test_the_scan_is_one_query_whatever_the_number_of_trains(
    clock, manager, django_assert_num_queries
):
    for _ in range(6):
        make_train(manager, **schedule(START + 30 * DAY))  # nothing due for a while
    make_train(manager, **schedule(START))
    with django_assert_num_queries(1):
        items = selectors.due_items(today=START, offsets=[7, 2, 1])
    assert [(i.target, i.label, i.phase, i.due) for i in items] == [
        ("phase", "End of scoping", "scoping", START + 7 * DAY)
    ]


def test_the_scan_writes_its_reminders_in_one_statement(clock, manager, crew):
    trains = [make_train(manager, **schedule(START - 10 * DAY)) for _ in range(3)]
    services.milestone_add(train=trains[0], by=manager, name="Freeze", due_date=START + 2 * DAY)
    with CaptureQueriesContext(connection) as queries:
        result = notifications.reminders_scan()
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1 and statements[0].startswith("INSERT INTO")
    written = Reminder.objects.filter(pk__in=result.reminders)
    # three phase ends 3 days overdue: overdue and (from the third day) escalated; the
    # milestone due in 2 days, in the train's current phase
    assert sorted(written.values_list("target", "kind", "label", "phase")) == sorted(
        [("phase", kind, "End of scoping", "scoping") for kind in ("overdue", "escalation")] * 3
        + [("milestone", "due_soon", "Freeze", "scoping")]
    )
    assert result.due == 4


def test_reminders_are_facts(clock, manager):
    make_train(manager, **schedule(START))
    scan(clock, START)
    reminder = Reminder.objects.get()
    with pytest.raises(TypeError):
        reminder.save()
    with pytest.raises(TypeError):
        reminder.delete()
    with pytest.raises(TypeError):
        Reminder.objects.all().delete()


def test_the_scan_writes_one_row_per_due_item_and_the_dispatcher_tells_each_person_once(
    clock, crew
):
    train, *_ = drive(make_train(crew["manager"], **schedule(START)), "verification", **crew)
    clock.on(VERIFICATION_END + 4 * DAY)
    result = notifications.reminders_scan()
    assert len(result.reminders) == 2  # overdue and escalation: no row per person yet
    assert not Notification.objects.filter(reminder__isnull=False).exists()
    assert notifications.reminders_fan_out() == 3  # manager and QA; the executive
    assert notifications.reminders_fan_out() == 0  # each reminder fanned out once
    told = Notification.objects.filter(reminder__isnull=False)
    assert sorted(told.values_list("reminder__kind", "recipient__username")) == [
        ("escalation", "executive"),
        ("overdue", "manager"),
        ("overdue", "qa"),
    ]
    assert not Reminder.objects.filter(fanned_out_at__isnull=True).exists()


def test_people_are_told_as_the_train_stands_when_the_mail_goes(clock, crew):
    """Recipients are worked out at dispatch: someone who lost access in between hears
    nothing, and nobody is mailed about a train they cannot open."""
    train, *_ = drive(make_train(crew["manager"], **schedule(START)), "verification", **crew)
    clock.on(VERIFICATION_END + DAY)
    notifications.reminders_scan()
    crew["qa"].groups.clear()  # QA leaves before the dispatcher runs
    notifications.reminders_fan_out()
    told = Notification.objects.filter(reminder__isnull=False)
    assert set(told.values_list("recipient__username", flat=True)) == {"manager"}
