"""Freeze windows: kept by staff and release managers, refusing deployments inside them
with their name, save an emergency train whose freeze exception an executive approved."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from approvals.models import Gate
from releasemgr.exceptions import ConditionsUnmet, NotAllowed
from tests.factories import drive, fresh, make_train, schedule
from trains import services, workflow
from trains.models import Deployment, FreezeEvent, FreezeWindow

pytestmark = pytest.mark.django_db


def _freeze(by, *, days_from=-1, days_to=1, name="Year-end freeze"):
    today = timezone.localdate()
    return services.freeze_create(
        by=by,
        name=name,
        start=today + timedelta(days=days_from),
        end=today + timedelta(days=days_to),
        reason="Shops are busiest",
    )


def _deploying(people, **overrides):
    train, *_rest = drive(make_train(people["manager"], **overrides), "deployment", **people)
    return train


def test_a_deployment_inside_a_window_is_refused_with_its_name(people):
    train = _deploying(people)
    _freeze(people["manager"])
    with pytest.raises(ConditionsUnmet, match="Deployments are frozen: Year-end freeze"):
        services.train_deploy(train=train, by=people["engineer"], succeeded=True)
    assert fresh(train).state == "deployment"
    assert not Deployment.objects.filter(train=train).exists()


def test_outside_the_window_it_deploys(people):
    train = _deploying(people)
    _freeze(people["manager"], days_from=3, days_to=9)
    services.train_deploy(train=train, by=people["engineer"], succeeded=True)
    assert fresh(train).state == "closed"


def test_an_emergency_train_deploys_once_an_executive_approves_the_exception(people):
    manager, executive = people["manager"], people["executive"]
    emergency = make_train(manager, train_type="emergency", **schedule(step=1))
    train, *_ = drive(emergency, "deployment", **people)
    _freeze(manager)
    with pytest.raises(ConditionsUnmet, match="add a freeze exception approver"):
        services.train_deploy(train=train, by=people["engineer"], succeeded=True)
    exception = services.requirement_add(
        train=fresh(train), by=manager, gate=Gate.FREEZE_EXCEPTION, user=executive
    )
    with pytest.raises(ConditionsUnmet, match="freeze exception is not approved yet"):
        services.train_deploy(train=fresh(train), by=people["engineer"], succeeded=True)
    services.decision_record(requirement=exception, by=executive, approve=True)
    assert fresh(train).state == "deployment"  # the exception moves nothing by itself
    services.train_deploy(train=fresh(train), by=people["engineer"], succeeded=True)
    assert fresh(train).state == "closed"


def test_a_rejected_exception_keeps_the_emergency_train_waiting(people):
    manager, executive = people["manager"], people["executive"]
    train, *_ = drive(make_train(manager, train_type="emergency"), "deployment", **people)
    _freeze(manager)
    exception = services.requirement_add(
        train=fresh(train), by=manager, gate=Gate.FREEZE_EXCEPTION, user=executive
    )
    services.decision_record(requirement=exception, by=executive, approve=False, comment="Wait")
    assert fresh(train).state == "deployment"
    assert workflow.unmet(fresh(train), "deploy")


def test_only_an_emergency_train_asks_for_an_exception(people):
    train = make_train(people["manager"])
    with pytest.raises(ValidationError, match="Only an emergency train"):
        services.requirement_add(
            train=train, by=people["manager"], gate=Gate.FREEZE_EXCEPTION, user=people["executive"]
        )


def test_the_primary_manager_may_not_grant_their_own_exception(people):
    manager = people["manager"]
    train = make_train(manager, train_type="emergency")
    with pytest.raises(ValidationError):
        services.requirement_add(train=train, by=manager, gate=Gate.FREEZE_EXCEPTION, user=manager)


def test_freeze_windows_are_kept_by_staff_and_release_managers_with_history(people, outsider):
    manager = people["manager"]
    with pytest.raises(NotAllowed):
        _freeze(people["engineer"])
    with pytest.raises(NotAllowed):
        _freeze(outsider)
    outsider.is_staff = True
    outsider.save()
    window = _freeze(outsider, name="Staff freeze")
    window = services.freeze_update(
        window=window,
        by=manager,
        name="Staff freeze",
        start=window.start,
        end=window.end,
        reason="Moved",
    )
    services.freeze_delete(window=window, by=manager, reason="Not needed")
    assert not FreezeWindow.objects.exists()
    history = list(FreezeEvent.objects.order_by("id").values_list("message", flat=True))
    assert history[0].startswith("Added Staff freeze")
    assert "→" in history[1] and history[2].endswith("Why: Not needed")


def test_a_window_cannot_end_before_it_starts(people):
    with pytest.raises(ValidationError, match="cannot end before it starts"):
        _freeze(people["manager"], days_from=2, days_to=1)
    assert not FreezeWindow.objects.exists() and not FreezeEvent.objects.exists()


# Pages --------------------------------------------------------------------------------------


def test_the_page_lists_windows_and_a_keeper_adds_one(client, people):
    client.force_login(people["manager"])
    today = timezone.localdate()
    data = {"name": "Year-end freeze", "start": f"{today:%Y-%m-%d}", "end": f"{today:%Y-%m-%d}"}
    assert client.post("/freezes/", {**data, "end": "not a date"}).status_code == 400
    assert client.post("/freezes/", data).status_code == 302
    page = client.get("/freezes/").content.decode()
    assert "Year-end freeze" in page and "Add a freeze window" in page
    client.force_login(people["owner"])
    page = client.get("/freezes/").content.decode()
    assert "Year-end freeze" in page and "Add a freeze window" not in page
    assert client.post("/freezes/", data).status_code == 403
    window = FreezeWindow.objects.get()
    assert client.post(f"/freezes/{window.pk}/remove/", {"reason": "x"}).status_code == 403
    client.force_login(people["manager"])
    assert client.get(f"/freezes/{window.pk}/edit/").status_code == 200
    client.post(f"/freezes/{window.pk}/remove/", {"reason": "Done"})
    assert not FreezeWindow.objects.exists()


def test_freeze_page_query_count(client, people, django_assert_max_num_queries):
    for i in range(10):
        _freeze(people["manager"], days_from=i * 10, days_to=i * 10 + 2, name=f"F{i}")
    client.force_login(people["manager"])
    # session, user with its groups, inbox count; windows now and ahead, past, history
    with django_assert_max_num_queries(7):
        assert client.get("/freezes/").status_code == 200


def test_the_dashboard_says_deploying_is_frozen(client, people):
    train = _deploying(people)
    _freeze(people["manager"])
    client.force_login(people["engineer"])
    page = client.get(f"/trains/{train.pk}/").content.decode()
    assert "Deployments are frozen: Year-end freeze" in page
    assert 'class="tl-freeze"' in page
    refused = client.post(
        f"/trains/{train.pk}/deploy/", {"succeeded": "1", "log": ""}, follow=True
    ).content.decode()
    assert "Year-end freeze" in refused and fresh(train).state == "deployment"


def test_the_calendar_shows_windows(client, people):
    _freeze(people["manager"])
    client.force_login(people["stakeholder"] if "stakeholder" in people else people["owner"])
    page = client.get("/calendar/").content.decode()
    assert "Year-end freeze" in page and " frozen" in page


def test_the_form_warns_of_a_deployment_ending_in_a_window(client, people):
    manager = people["manager"]
    train = make_train(manager)
    deployment_end = train.phases.get(kind="deployment").planned_end
    services.freeze_create(
        by=manager, name="Audit freeze", start=deployment_end, end=deployment_end
    )
    client.force_login(manager)
    page = client.get(f"/trains/{train.pk}/edit/").content.decode()
    assert 'id="freeze-warning"' in page and "Audit freeze" in page


def test_the_inbox_lists_an_exception_after_the_gates_that_opened(client, people):
    """A freeze exception waits on a train in deployment, which has no gate open: the
    executive's inbox shows it after the trains whose gate opened, oldest first."""
    manager, executive = people["manager"], people["executive"]
    emergency, *_ = drive(
        make_train(manager, name="Hotfix", train_type="emergency", **schedule(step=1)),
        "deployment",
        **people,
    )
    services.requirement_add(
        train=fresh(emergency), by=manager, gate=Gate.FREEZE_EXCEPTION, user=executive
    )
    for name in ("Asked first", "Asked next"):
        drive(make_train(manager, name=name), "executive_approval", **people)
    client.force_login(executive)
    page = client.get("/approvals/").content.decode()
    shown = [n for n in ("Asked first", "Asked next", "Hotfix") if n in page]
    assert shown == ["Asked first", "Asked next", "Hotfix"]
    assert page.index("Asked first") < page.index("Asked next") < page.index("Hotfix")
