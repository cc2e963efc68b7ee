"""The pages of templates, clones and schedules."""

from datetime import date

import pytest
from django.urls import reverse

from tests.factories import ReleaseFactory, make_train, schedule, scope
from trains.models import CadenceSchedule, ReleaseTrain, TrainTemplate
from trains.services import templates as t

pytestmark = pytest.mark.django_db

START = date(2027, 1, 4)


@pytest.fixture
def source(manager, owner, executive):
    train = make_train(manager, name="2027.01 Monthly train", **schedule(START))
    scope(train, manager=manager, owner=owner)
    return train


@pytest.fixture
def template(source, manager):
    return t.template_save(train=source, by=manager, name="Monthly minor train")


def test_train_page_offers_clone_and_template_to_release_managers_only(client, source, manager, qa):
    client.force_login(manager)
    page = client.get(reverse("train_detail", args=[source.pk])).content.decode()
    assert reverse("train_clone", args=[source.pk]) in page
    assert reverse("template_save", args=[source.pk]) in page
    client.force_login(qa)
    page = client.get(reverse("train_detail", args=[source.pk])).content.decode()
    assert reverse("train_clone", args=[source.pk]) not in page
    assert client.get(reverse("train_clone", args=[source.pk])).status_code == 403


def test_outsider_cannot_clone_a_train_they_cannot_see(client, source, other_manager):
    client.force_login(other_manager)
    assert client.get(reverse("train_clone", args=[source.pk])).status_code == 404


def test_clone_page_offers_next_releases_and_makes_the_train(client, source, manager):
    app = source.application_releases.first().application
    nxt = ReleaseFactory(application=app, version="9.0")
    client.force_login(manager)
    url = reverse("train_clone", args=[source.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert str(nxt) in page.content.decode()
    assert page.context["form"].initial["releases"] == [str(nxt.pk)]
    response = client.post(url, {"start_date": "2027-03-01", "releases": [str(nxt.pk)]})
    clone = ReleaseTrain.objects.get(name="2027.03 Monthly train")
    assert response.status_code == 302
    assert response["Location"] == reverse("train_detail", args=[clone.pk])
    assert clone.start_date == date(2027, 3, 1)
    assert list(clone.application_releases.all()) == [nxt]


def test_clone_with_bad_input_says_why_and_writes_nothing(client, source, manager):
    client.force_login(manager)
    url = reverse("train_clone", args=[source.pk])
    response = client.post(url, {"start_date": "not a day"})
    assert response.status_code == 200
    assert response.context["form"].errors["start_date"]
    response = client.post(url, {"start_date": "2027-03-01", "name": source.name})
    assert "An open train already has this name." in response.content.decode()
    assert ReleaseTrain.objects.count() == 1


def test_save_as_template_then_create_from_it_on_new_train(client, source, manager):
    client.force_login(manager)
    response = client.post(reverse("template_save", args=[source.pk]), {"name": "Monthly"})
    template = TrainTemplate.objects.get()
    assert response["Location"] == reverse("template_detail", args=[template.pk])
    page = client.get(reverse("train_create")).content.decode()
    assert "From a template" in page
    response = client.post(
        reverse("train_from_template"), {"template": template.pk, "start_date": "2027-05-03"}
    )
    train = ReleaseTrain.objects.get(name="2027.05 Monthly train")
    assert response["Location"] == reverse("train_detail", args=[train.pk])


def test_create_from_template_refusal_comes_back_on_the_form(client, template, manager):
    client.force_login(manager)
    response = client.post(
        reverse("train_from_template"),
        {"template": template.pk, "start_date": "2027-01-04", "name": "2027.01 Monthly train"},
    )
    assert response.status_code == 400
    assert "An open train already has this name." in response.content.decode()


def test_template_edit_writes_history(client, template, manager):
    client.force_login(manager)
    url = reverse("template_edit", args=[template.pk])
    assert client.get(url).status_code == 200
    data = {
        "name": "Monthly minor",
        "name_pattern": "{year}.{month:02} Minor",
        "train_type": "minor",
        "purpose": "",
        "primary_manager": manager.pk,
        "duration_days": 35,
    }
    assert client.post(url, data).status_code == 302
    page = client.get(reverse("template_detail", args=[template.pk])).content.decode()
    assert "window length (days): 29 → 35" in page


def test_schedule_pages(client, template, manager, settings):
    settings.CADENCE_AHEAD = 2
    client.force_login(manager)
    add = reverse("schedule_add", args=[template.pk])
    bad = client.post(
        add,
        {
            "cadence": "weeks",
            "interval": 1,
            "start_date": "2027-02-01",
            "end_date": "2027-01-01",
            "name_pattern": "{year} weekly",
        },
    )
    assert bad.status_code == 400
    assert "The schedule cannot end before it starts." in bad.content.decode()
    assert not CadenceSchedule.objects.exists()
    good = client.post(
        add,
        {
            "cadence": "monthly_weekday",
            "interval": 1,
            "ordinal": 1,
            "weekday": 0,
            "start_date": "2027-02-01",
        },
    )
    assert good.status_code == 302
    plan = CadenceSchedule.objects.get()
    client.post(reverse("schedule_run", args=[plan.pk]))
    assert plan.made_trains.count() == 2
    client.post(reverse("schedule_pause", args=[plan.pk]), {"paused": "1"})
    plan.refresh_from_db()
    assert plan.paused
    page = client.get(reverse("template_detail", args=[template.pk])).content.decode()
    assert "Paused" in page and "Resume" in page
    edit = reverse("schedule_edit", args=[plan.pk])
    assert client.get(edit).status_code == 200
    client.post(reverse("schedule_delete", args=[plan.pk]))
    assert not CadenceSchedule.objects.exists()
    assert ReleaseTrain.objects.count() == 3  # its trains stay


def test_template_pages_are_for_release_managers(client, template, qa):
    client.force_login(qa)
    assert client.get(reverse("template_list")).status_code == 403
    assert client.get(reverse("template_detail", args=[template.pk])).status_code == 403
    assert client.post(reverse("train_from_template"), {}).status_code == 403


def test_template_list_queries_are_pinned(client, manager, source, django_assert_max_num_queries):
    for i in range(5):
        template = t.template_save(train=source, by=manager, name=f"Template {i}")
        t.schedule_create(
            template=template,
            by=manager,
            cadence="weeks",
            interval=1,
            start_date=START,
            name_pattern=f"T{i} {{year}}-{{week}}",
        )
    client.force_login(manager)
    # session, user, the navigation's inbox summary, the templates with their schedule
    # counts, the "use" form's templates; SQLite adds its JSON support check
    with django_assert_max_num_queries(7):
        response = client.get(reverse("template_list"))
    assert response.content.decode().count("1 running") == 5


def test_template_page_queries_do_not_grow_with_schedules(
    client, manager, template, django_assert_max_num_queries
):
    for i in range(4):
        t.schedule_create(
            template=template,
            by=manager,
            cadence="weeks",
            interval=i + 1,
            start_date=START,
            name_pattern=f"T{i} {{year}}-{{week}}",
        )
    t.cadences_run(today=START)
    client.force_login(manager)
    # session, user, the template, its approvers (people, groups), the schedules, their
    # made trains, the history, the navigation's inbox summary; SQLite adds its JSON check
    with django_assert_max_num_queries(9):
        response = client.get(reverse("template_detail", args=[template.pk]))
    assert response.status_code == 200


def test_upcoming_scheduled_trains_show_on_the_calendar(client, template, manager, settings):
    settings.CADENCE_AHEAD = 2
    t.schedule_create(
        template=template,
        by=manager,
        cadence="monthly_weekday",
        ordinal=1,
        weekday=0,
        start_date=date(2027, 2, 1),
    )
    made = t.cadences_run(today=date(2027, 1, 20))
    client.force_login(manager)
    page = client.get(reverse("calendar"), {"month": "2027-03"}).content.decode()
    assert made[1].name == "2027.03 Monthly train"
    assert "2027.03 Monthly train" in page
