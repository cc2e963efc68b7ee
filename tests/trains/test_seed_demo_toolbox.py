"""The demo data shows issue 14's moves, freeze windows and decision links."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from trains.choices import NotificationKind, NotificationStatus
from trains.models import FreezeWindow, Notification, TrainEvent
from trains.notifications import mail

pytestmark = pytest.mark.django_db


def test_seed_demo_has_a_moved_release_a_freeze_and_a_mail_with_links(settings, role_groups):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    moved = TrainEvent.objects.filter(data__has_key="moved_to")
    assert moved.count() == 1
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
    call_command("seed_demo", verbosity=0)
    assert FreezeWindow.objects.count() == 1
