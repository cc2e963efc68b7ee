"""Two beat runs of the cadence at once, on PostgreSQL: one train per schedule and window."""

from datetime import date

import pytest
from django.db import IntegrityError, connection  # noqa: F401 (the skipif reads it)

from tests.factories import make_train, schedule
from tests.trains.test_races import _race
from trains.models import ReleaseTrain, ScheduledTrain, TrainTemplate
from trains.services import templates as t

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks"),
]


@pytest.fixture
def monthly(manager):
    source = make_train(manager, name="2027.01 Monthly train", **schedule(date(2027, 1, 4)))
    template = t.template_save(train=source, by=manager, name="Monthly")
    return t.schedule_create(
        template=template,
        by=manager,
        cadence="monthly_weekday",
        ordinal=1,
        weekday=0,
        start_date=date(2027, 2, 1),
    )


def test_four_runs_at_once_make_each_train_once(monthly, settings):
    settings.CADENCE_AHEAD = 3
    results = _race(
        *[lambda: t.cadences_run(today=date(2027, 1, 20)) for _ in range(4)],
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(len(r) for r in results) == [0, 0, 0, 3]  # one run made them all
    names = sorted(
        ReleaseTrain.objects.filter(scheduled_by__isnull=False).values_list("name", flat=True)
    )
    assert names == ["2027.02 Monthly train", "2027.03 Monthly train", "2027.04 Monthly train"]
    assert ScheduledTrain.objects.count() == 3
    assert TrainTemplate.objects.get().events.filter(message__contains="made from it").count() == 3


def test_the_database_refuses_a_second_train_for_a_window(monthly, manager):
    (first,) = t.cadences_run(today=date(2027, 1, 20))[:1]
    other = make_train(manager, name="Another", **schedule(date(2027, 2, 1)))
    with pytest.raises(IntegrityError):
        ScheduledTrain.objects.create(schedule=monthly, window_start=first.start_date, train=other)
