import pytest
from django.core.management import CommandError, call_command

from trains.choices import TrainState
from trains.models import ReleaseTrain

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_every_state_and_is_idempotent(settings, role_groups):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    states = set(ReleaseTrain.objects.values_list("state", flat=True))
    assert states == set(TrainState.values)
    counts = (
        ReleaseTrain.objects.count(),
        sum(t.events.count() for t in ReleaseTrain.objects.all()),
    )
    call_command("seed_demo", verbosity=0)
    assert (
        ReleaseTrain.objects.count(),
        sum(t.events.count() for t in ReleaseTrain.objects.all()),
    ) == counts
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    for name in ("manager", "owner", "qa", "executive", "engineer", "stakeholder"):
        assert users.get(username=name).check_password("demo")
    from trains.access import trains_visible_to

    stakeholder = users.get(username="stakeholder")
    assert 0 < trains_visible_to(stakeholder).count() < ReleaseTrain.objects.count()
    assert all(t.primary_manager.username == "manager" for t in ReleaseTrain.objects.all())


def test_seed_demo_refuses_without_debug(settings, role_groups):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", verbosity=0)
    assert not ReleaseTrain.objects.exists()
    call_command("seed_demo", "--force", verbosity=0)
    assert ReleaseTrain.objects.exists()


def test_seed_demo_has_a_template_with_a_monthly_cadence(settings, role_groups):
    from trains.models import ScheduledTrain, TrainTemplate

    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    template = TrainTemplate.objects.get(name="Monthly minor train")
    schedule = template.schedules.get()
    assert str(schedule).startswith("Monthly minor train: first Monday of every month from ")
    made = ScheduledTrain.objects.filter(schedule=schedule).select_related("train")
    assert len(made) == settings.CADENCE_AHEAD
    assert all(m.train.state == TrainState.SCOPING for m in made)
    assert all(m.train.start_date.weekday() == 0 for m in made)
    call_command("seed_demo", verbosity=0)
    assert ScheduledTrain.objects.count() == settings.CADENCE_AHEAD
