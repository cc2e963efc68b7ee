"""The notification settings page and the sent-mail pages."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory, make_train, schedule
from trains import services
from trains.models import Notification, NotificationPreference, UndeliverableAddress
from trains.notifications import services as notifications

from .conftest import START

pytestmark = pytest.mark.django_db

PREFERENCES = reverse("notifications:preferences")
SENT = reverse("notifications:sent")


def sent_train(train):
    return reverse("notifications:sent_train", args=[train.pk])


def choices(**overrides):
    data = {
        "deadline": "email",
        "overdue": "email",
        "escalation": "email",
        "approval_requested": "email",
        "rejected": "email",
        "turnover_submitted": "email",
        "turnover_decided": "email",
        "deployment_failed": "email",
        "train_closed": "email",
        "update": "digest",
    }
    return data | overrides


@pytest.fixture
def mail_for(clock):
    """A train with reminders written, some sent, one failed."""

    def build(manager, trains=1):
        made = [make_train(manager, **schedule(START)) for _ in range(trains)]
        notifications.reminders_scan()
        notifications.notifications_send()
        Notification.objects.filter(pk=Notification.objects.order_by("pk").first().pk).update(
            status="failed", last_error="Address refused: 550 mailbox unavailable"
        )
        return made

    return build


# The settings page -----------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client):
    for url in (PREFERENCES, SENT, reverse("notifications:sent_train", args=[1])):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")


def test_preferences_page_shows_each_kind_with_its_current_choice(client, stakeholder):
    NotificationPreference.objects.create(user=stakeholder, kind="overdue", delivery="off")
    client.force_login(stakeholder)
    response = client.get(PREFERENCES)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'for="id_deadline"' in html and "Deadline coming up" in html
    assert "7, 2 and 1 days away" in html
    assert response.context["form"].initial["overdue"] == "off"
    assert response.context["form"].initial["update"] == "digest"
    assert 'name="viewport"' in html  # works on a phone


def test_saving_preferences(client, stakeholder):
    client.force_login(stakeholder)
    response = client.post(PREFERENCES, choices(deadline="digest", train_closed="off"))
    assert response.status_code == 302 and response.url == PREFERENCES
    saved = dict(
        NotificationPreference.objects.filter(user=stakeholder).values_list("kind", "delivery")
    )
    assert saved["deadline"] == "digest" and saved["train_closed"] == "off"
    assert "saved" in client.get(PREFERENCES).content.decode()


def test_bad_input_shows_errors_and_saves_nothing(client, stakeholder):
    client.force_login(stakeholder)
    data = choices(deadline="off", overdue="by pigeon")
    del data["rejected"]
    response = client.post(PREFERENCES, data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"overdue", "rejected"}
    assert "is-invalid" in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_wrong_methods_are_refused(client, stakeholder):
    client.force_login(stakeholder)
    assert client.put(PREFERENCES).status_code == 405
    assert client.get(reverse("notifications:address_retry")).status_code == 405
    assert client.post(SENT).status_code == 405


def test_a_refused_address_is_shown_and_can_be_tried_again(client, stakeholder):
    UndeliverableAddress.objects.create(email="stakeholder@example.com", reason="550 no such user")
    client.force_login(stakeholder)
    assert "550 no such user" in client.get(PREFERENCES).content.decode()
    response = client.post(reverse("notifications:address_retry"))
    assert response.status_code == 302
    assert not UndeliverableAddress.objects.exists()


# The sent-mail pages ---------------------------------------------------------------


def test_managers_see_their_trains_with_counts(client, manager, other_manager, mail_for):
    (mine,) = mail_for(manager)
    theirs = make_train(other_manager)
    client.force_login(manager)
    response = client.get(SENT)
    assert response.status_code == 200
    listed = {t.pk: t for t in response.context["trains"]}
    assert set(listed) == {mine.pk}
    assert (listed[mine.pk].n_failed, listed[mine.pk].n_sent) == (1, 0)
    assert theirs.name not in response.content.decode()


def test_people_without_a_role_may_not_read_sent_mail(client, stakeholder):
    client.force_login(stakeholder)
    assert client.get(SENT).status_code == 403


def test_a_train_mail_page_lists_what_was_sent_and_what_failed(client, manager, mail_for):
    (train,) = mail_for(manager)
    client.force_login(manager)
    response = client.get(sent_train(train))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Address refused: 550 mailbox unavailable" in html
    assert response.context["counts"]["failed"] == 1
    failed = client.get(sent_train(train), {"status": "failed"})
    assert [n.status for n in failed.context["page"].object_list] == ["failed"]
    # an unknown filter shows everything rather than failing
    assert client.get(sent_train(train), {"status": "nonsense"}).context["status"] == ""


def test_outsider_gets_404_and_a_viewer_403(client, manager, stakeholder, outsider, mail_for):
    (train,) = mail_for(manager)
    services.train_grant(train=train, by=manager, user=stakeholder)
    client.force_login(outsider)
    assert client.get(sent_train(train)).status_code == 404
    client.force_login(stakeholder)
    assert client.get(sent_train(train)).status_code == 403


def test_staff_who_see_the_train_read_its_mail(client, manager, stakeholder, mail_for):
    (train,) = mail_for(manager)
    services.train_grant(train=train, by=manager, user=stakeholder)
    stakeholder.is_staff = True
    stakeholder.save()
    client.force_login(stakeholder)
    assert client.get(sent_train(train)).status_code == 200
    assert train.pk in {t.pk for t in client.get(SENT).context["trains"]}


def test_train_mail_page_queries_do_not_grow_with_rows(
    client, manager, mail_for, django_assert_max_num_queries
):
    (train,) = mail_for(manager)
    for _ in range(30):  # more rows, one page
        Notification.objects.create(
            train=train,
            event=train.events.first(),
            recipient=UserFactory(),
            kind="update",
        )
    client.force_login(manager)
    # session, user; navigation: roles, approvals inbox count; the train (access helper);
    # counts per status; paginator count; one page of rows with recipient, event,
    # reminder and digest joined in
    with django_assert_max_num_queries(8):
        response = client.get(sent_train(train))
    assert len(response.context["page"].object_list) == 31


def test_overview_queries_do_not_grow_with_trains(
    client, manager, mail_for, django_assert_max_num_queries
):
    mail_for(manager, trains=5)
    client.force_login(manager)
    # session, user; navigation: roles, approvals inbox count; the trains with their
    # counts in one aggregate query
    with django_assert_max_num_queries(5):
        response = client.get(SENT)
    assert len(response.context["trains"]) == 5


def test_navigation_offers_the_pages_by_role(client, manager, stakeholder):
    client.force_login(manager)
    nav = client.get(SENT).context["nav"]
    items = {i["label"]: i for i in nav["items"] + nav["user_items"]}
    assert items["Sent mail"]["active"] and not items["Notifications"]["active"]
    assert items["Freezes"]["url"] == "/freezes/"  # a manager keeps the freeze windows
    client.force_login(stakeholder)
    nav = client.get(PREFERENCES).context["nav"]
    items = {i["label"]: i for i in nav["items"] + nav["user_items"]}
    assert "Sent mail" not in items and items["Notifications"]["active"]
    assert "Freezes" not in items
