"""The re-planning pages: move dates, baselines, the health override; and the dashboard's
panel with slip and the scope since the baseline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ReleaseFactory, drive, fresh, make_train, schedule
from trains import services
from trains.choices import EventKind, NotificationKind, PhaseKind
from trains.models import Baseline
from trains.notifications.mail import event_content

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_construction(people):
    train, *_ = drive(make_train(people["manager"]), "construction", **people)
    return train


def test_move_dates_page_moves_them_with_a_reason(client, people, in_construction):
    train = in_construction
    client.force_login(people["manager"])
    page = client.get(f"/trains/{train.pk}/plan/")
    assert page.status_code == 200
    assert "Scoping ends" in page.content.decode() and "ended, cannot move" in page.content.decode()
    ends = {p.kind: p.planned_end for p in train.phases.all()}
    data = {
        "start_date": train.start_date,
        "end_date": train.end_date + timedelta(days=4),
        "phase_construction": ends[PhaseKind.CONSTRUCTION],
        "phase_verification": ends[PhaseKind.VERIFICATION],
        "phase_deployment": ends[PhaseKind.DEPLOYMENT] + timedelta(days=4),
        "reason": "",
    }
    refused = client.post(f"/trains/{train.pk}/plan/", data)
    assert refused.status_code == 200
    assert "This field is required" in refused.content.decode()
    data["reason"] = "Supplier late"
    response = client.post(f"/trains/{train.pk}/plan/", data)
    assert response.status_code == 302
    event = train.events.get(kind=EventKind.PLAN)
    assert "Supplier late" in event.message
    dashboard = client.get(f"/trains/{train.pk}/").content.decode()
    assert 'id="slip"' in dashboard and "4 days later" in dashboard


def test_move_dates_shows_the_rule_beside_the_field(client, people, in_construction):
    train = in_construction
    client.force_login(people["manager"])
    response = client.post(
        f"/trains/{train.pk}/plan/",
        {
            "start_date": train.start_date,
            "end_date": train.end_date,
            "phase_construction": train.end_date + timedelta(days=3),
            "reason": "why not",
        },
    )
    assert response.status_code == 200
    assert "cannot end after the train ends" in response.content.decode()
    assert not train.events.filter(kind=EventKind.PLAN).exists()


def test_others_get_404_and_stakeholders_403(client, people, in_construction, other_manager):
    train = in_construction
    client.force_login(other_manager)
    assert client.get(f"/trains/{train.pk}/plan/").status_code == 404
    assert client.post(f"/trains/{train.pk}/health/", {}).status_code == 404
    client.force_login(people["qa"])  # sees it, may not manage it
    assert client.get(f"/trains/{train.pk}/baselines/").status_code == 200
    assert client.get(f"/trains/{train.pk}/plan/").status_code in (403, 404)
    assert client.get(f"/trains/{train.pk}/health/").status_code == 405


def test_taking_a_baseline_from_the_page(client, people, in_construction):
    train = in_construction
    client.force_login(people["manager"])
    client.post(f"/trains/{train.pk}/baselines/", {"reason": "CAB agreed"})
    assert list(Baseline.objects.filter(train=train).values_list("number", flat=True)) == [2, 1]
    page = client.get(f"/trains/{train.pk}/baselines/").content.decode()
    assert "Baseline 2" in page and "Baseline 1" in page and "CAB agreed" in page
    client.post(f"/trains/{train.pk}/baselines/", {"reason": ""})
    assert train.baselines.count() == 2


def test_health_override_from_the_page_and_cleared(client, people, in_construction):
    train = in_construction
    client.force_login(people["manager"])
    until = timezone.localdate() + timedelta(days=2)
    response = client.post(
        f"/trains/{train.pk}/health/",
        {"health": "red", "until": until.isoformat(), "reason": "Datacentre move"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Health: Red (set)" in html and "Datacentre move" in html
    assert fresh(train).health_override == "red"
    client.post(f"/trains/{train.pk}/health/clear/")
    assert fresh(train).health_override == ""
    assert train.events.filter(kind=EventKind.HEALTH).count() == 2


def test_scope_since_baseline_lists_who_and_why(
    client, people, in_construction, django_assert_max_num_queries
):
    train, manager = in_construction, people["manager"]
    added = ReleaseFactory(application__product_owner=people["owner"])
    services.release_add(train=train, release=added, by=manager)
    gone = train.application_releases.exclude(pk=added.pk).first()
    services.release_remove(train=train, release=gone, by=manager, reason="Missed the train")
    client.force_login(manager)
    client.get(f"/trains/{train.pk}/")
    # session, user, inbox count; the train with facts; requirements, releases, the
    # freeze windows, viewers, events, the free releases to add; the scope since the
    # baseline
    with django_assert_max_num_queries(11):
        html = client.get(f"/trains/{train.pk}/").content.decode()
    panel = html.split('id="scope-since-baseline"')[1].split("</ul>")[0]
    assert f"Added <strong>{added}</strong>" in panel
    assert f"Removed <strong>{gone}</strong>" in panel and "Missed the train" in panel


def test_list_shows_health_and_filters_by_it(client, people, django_assert_max_num_queries):
    manager = people["manager"]
    start = timezone.localdate() - timedelta(days=20)
    late = make_train(manager, name="Late one", **schedule(start, step=10))  # overdue: red
    fine = make_train(manager, name="Fine one", **schedule(step=10))  # green
    client.force_login(manager)
    html = client.get("/trains/?show=open").content.decode()
    assert "Health: Red" in html and "Health: Green" in html
    client.get("/trains/?show=open&health=red")
    # session, user with groups; needs my action (candidates with facts); the open trains
    # with facts and rights (health is computed from them); the manager filter's choices
    with django_assert_max_num_queries(6):
        response = client.get("/trains/?show=open&health=red")
    names = [row.train.name for row in response.context["rows"]]
    assert names == [late.name]
    response = client.get("/trains/?show=open&health=green")
    assert [row.train.name for row in response.context["rows"]] == [fine.name]
    # an unknown health is no filter
    assert len(client.get("/trains/?show=open&health=blue").context["rows"]) == 2


def test_calendar_and_mail_say_the_health(client, people, settings):
    manager = people["manager"]
    start = timezone.localdate() - timedelta(days=20)
    make_train(manager, name="Late one", **schedule(start, step=10))
    client.force_login(manager)
    month = timezone.localdate().strftime("%Y-%m")
    html = client.get(f"/calendar/?month={month}").content.decode()
    assert "Health Red: </span>Late one" in html
    gated, *_ = drive(
        make_train(manager, **schedule(start - timedelta(days=10), step=10)),
        "development_approval",
        **people,
    )
    event = gated.events.get(transition="request_development_approval")
    content = event_content(event, NotificationKind.APPROVAL_REQUESTED)
    assert "Health: Red (Construction is 10 days overdue)" in content.lines


def test_timeline_draws_the_baseline_beside_the_plan(client, people, in_construction):
    train = in_construction
    ends = {p.kind: p.planned_end for p in train.phases.all()}
    services.plan_move(
        train=train,
        by=people["manager"],
        reason="later",
        end_date=train.end_date + timedelta(days=3),
        phase_ends={PhaseKind.DEPLOYMENT: ends[PhaseKind.DEPLOYMENT] + timedelta(days=3)},
    )
    client.force_login(people["manager"])
    response = client.get(f"/trains/{train.pk}/")
    timeline = response.context["d"].timeline
    assert timeline.baseline == 1
    deployment = next(line for line in timeline.phases if line.kind == PhaseKind.DEPLOYMENT)
    assert deployment.baseline_end == ends[PhaseKind.DEPLOYMENT]
    assert deployment.baseline_text == "3 days later than baseline 1" and deployment.baseline_late
    assert any(bar.css == "tl-baseline" for bar in deployment.bars)
    html = response.content.decode()
    assert 'class="tl-baseline"' in html and "Baseline 1" in html
