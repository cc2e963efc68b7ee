"""The demo data: one build (seed_demo is the slowest thing the suite runs), checked for
everything the demo promises, then built again to show that it is idempotent."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from trains.access import trains_visible_to
from trains.choices import NotificationKind, NotificationStatus, TrainState
from trains.models import (
    FreezeWindow,
    Notification,
    ReleaseTrain,
    ScheduledTrain,
    TrainEvent,
    TrainTemplate,
)
from trains.notifications import mail

pytestmark = pytest.mark.django_db


def _totals() -> tuple[int, int, int, int]:
    return (
        ReleaseTrain.objects.count(),
        TrainEvent.objects.count(),
        ScheduledTrain.objects.count(),
        FreezeWindow.objects.count(),
    )


def test_seed_demo_refuses_without_debug_then_builds_every_state_once(settings, role_groups):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", verbosity=0)
    assert not ReleaseTrain.objects.exists()
    with pytest.raises(CommandError, match="--history takes 0 to 48 trains, not 49"):
        call_command("seed_demo", "--force", "--history", "49", verbosity=0)
    call_command("seed_demo", "--force", verbosity=0)

    # every state, all managed by the demo manager; the stakeholder sees some
    assert set(ReleaseTrain.objects.values_list("state", flat=True)) == set(TrainState.values)
    assert all(t.primary_manager.username == "manager" for t in ReleaseTrain.objects.all())
    users = get_user_model().objects
    for name in ("manager", "owner", "qa", "executive", "engineer", "stakeholder"):
        assert users.get(username=name).check_password("demo")
    stakeholder = users.get(username="stakeholder")
    assert 0 < trains_visible_to(stakeholder).count() < ReleaseTrain.objects.count()

    # a template with a monthly cadence, which made its trains ahead
    template = TrainTemplate.objects.get(name="Monthly minor train")
    schedule = template.schedules.get()
    assert str(schedule).startswith("Monthly minor train: first Monday of every month from ")
    made = ScheduledTrain.objects.filter(schedule=schedule).select_related("train")
    assert len(made) == settings.CADENCE_AHEAD
    assert all(m.train.state == TrainState.SCOPING for m in made)
    assert all(m.train.start_date.weekday() == 0 for m in made)

    # issue 14's toolbox: a moved release, a freeze window ahead, a mail with decision links
    assert TrainEvent.objects.filter(data__has_key="moved_to").count() == 1
    assert TrainEvent.objects.filter(data__has_key="moved_from").count() == 1
    today = timezone.localdate()
    assert FreezeWindow.objects.filter(
        start__gt=today, start__lte=today + timedelta(days=31)
    ).exists()
    pending = Notification.objects.filter(
        kind=NotificationKind.APPROVAL_REQUESTED,
        status=NotificationStatus.PENDING,
        recipient__username="executive",
        train__state="executive_approval",
    ).first()
    assert pending is not None
    text = mail.render_notification(pending, "executive@example.com").text
    assert re.search(r"^Approve: \S+/approvals/link/\S+/$", text, re.M)
    assert re.search(r"^Reject: \S+/approvals/link/\S+/$", text, re.M)

    # again (with DEBUG on, as `make run` does): nothing new
    before = _totals()
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    assert _totals() == before
    assert (ScheduledTrain.objects.count(), FreezeWindow.objects.count()) == (
        settings.CADENCE_AHEAD,
        1,
    )
