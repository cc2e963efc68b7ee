"""The train pages: happy paths, anonymous, outsiders, wrong roles, wrong methods, bad input."""

import importlib
import re

import pytest

from releasemgr.ids import INVALID_ID
from tests.factories import ReleaseFactory, drive, fresh, make_train, scope
from trains import services
from trains.choices import CriterionCheck, EventKind
from trains.models import ReleaseTrain

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    return client


def valid_train_post(**overrides):
    data = {
        "name": "2027.03 March train",
        "purpose": "Spring features",
        "train_type": "minor",
        "start_date": "2027-03-01",
        "end_date": "2027-03-31",
        "phase_scoping": "2027-03-05",
        "phase_construction": "2027-03-15",
        "phase_verification": "2027-03-25",
        "phase_deployment": "2027-03-30",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "url", ["/trains/", "/trains/new/", "/approvals/", "/calendar/", "/applications/"]
)
def test_anonymous_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_anonymous_dashboard_redirects(client, manager):
    train = make_train(manager)
    assert client.get(f"/trains/{train.pk}/").status_code == 302


def test_sign_in_page_and_sign_in(client, manager):
    manager.set_password("pw")
    manager.save()
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "manager", "password": "pw"})
    assert response.status_code == 302 and response["Location"] == "/trains/"


def test_train_list_shows_visible_trains_with_badge_and_progress(
    client, manager, owner, stakeholder, executive
):
    shared, _private = make_train(manager, name="Shared"), make_train(manager, name="Private")
    scope(shared, manager=manager, owner=owner)
    from trains import services

    services.train_grant(train=shared, by=manager, user=stakeholder)
    page = login(client, stakeholder).get("/trains/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Shared" in html and "Private" not in html
    assert "0 / 2" in html and "Scoping" in html


def test_train_list_filters_and_search(client, manager):
    make_train(manager, name="Alpha train")
    make_train(manager, name="Beta train", train_type="patch")
    login(client, manager)
    html = client.get("/trains/?q=alpha").content.decode()
    assert "Alpha train" in html and "Beta train" not in html
    html = client.get("/trains/?train_type=patch").content.decode()
    assert "Beta train" in html and "Alpha train" not in html
    response = client.get("/trains/?starts_after=not-a-date")
    html = response.content.decode()
    assert response.status_code == 200 and "Running on or after: Enter a valid date" in html


def test_train_list_paginates(client, manager):
    for i in range(30):
        make_train(manager, name=f"T{i:02d}")
    login(client, manager)
    assert "Page 1 of 2" in client.get("/trains/").content.decode()
    assert client.get("/trains/?page=2").status_code == 200
    assert client.get("/trains/?page=abc").status_code == 200


def test_a_tab_of_more_trains_than_its_cap_says_so_and_pages_through_the_first(
    client, manager, monkeypatch
):
    """Counting every train read them all on each visit: a tab counts to its cap (1,000;
    here 30), says there are more, and its pages hold the first ones in its order."""
    monkeypatch.setattr(importlib.import_module("trains.selectors.lists"), "LIST_CAP", 30)
    for i in range(31):
        make_train(manager, name=f"T{i:02d}")
    login(client, manager)
    first = client.get("/trains/?show=open").content.decode()
    assert "More than 30 trains: the pages hold the first 30 in the order shown." in first
    assert "Page 1 of 2" in first
    last = client.get(f"/trains/?show=open&page={10**9}").content.decode()
    assert "Page 2 of 2" in last
    shown = set(re.findall(r">(T\d\d)</a>", first)) | set(re.findall(r">(T\d\d)</a>", last))
    assert shown == {f"T{i:02d}" for i in range(1, 31)}  # newest first: T00 is the 31st


def test_release_manager_submits_a_train(client, manager):
    login(client, manager)
    assert client.get("/trains/new/").status_code == 200
    response = client.post("/trains/new/", valid_train_post(primary_manager=manager.pk))
    train = ReleaseTrain.objects.get(name="2027.03 March train")
    assert response.status_code == 302 and response["Location"] == f"/trains/{train.pk}/"
    assert train.phases.get(kind="verification").planned_end.isoformat() == "2027-03-25"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"end_date": "2027-02-01"}, "end_date", "cannot end before it starts"),
        ({"phase_deployment": "2027-04-15"}, "phase_deployment", "cannot end after the train ends"),
        ({"phase_construction": "2027-03-28"}, "phase_verification", "must end after Construction"),
        ({"name": ""}, "name", "This field is required"),
        ({"start_date": "31/31/2027"}, "start_date", "Enter a valid date"),
    ],
)
def test_bad_train_input_is_shown_on_the_field_and_nothing_saved(
    client, manager, overrides, field, message
):
    login(client, manager)
    response = client.post(
        "/trains/new/", valid_train_post(primary_manager=manager.pk, **overrides)
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not ReleaseTrain.objects.exists()


def test_duplicate_open_name_is_refused_on_the_form(client, manager):
    make_train(manager, name="2027.03 March train")
    login(client, manager)
    response = client.post("/trains/new/", valid_train_post(primary_manager=manager.pk))
    assert response.context["form"].errors["name"] == ["An open train already has this name."]
    assert ReleaseTrain.objects.count() == 1


def edit_post(train, **overrides):
    """The edit form as it comes filled in: the train's own values."""
    data = valid_train_post(
        name=train.name,
        purpose=train.purpose,
        train_type=train.train_type,
        primary_manager=train.primary_manager_id,
        start_date=train.start_date.isoformat(),
        end_date=train.end_date.isoformat(),
        release_engineers=[u.pk for u in train.release_engineers.all()],
    )
    for phase in train.phases.all():
        data[f"phase_{phase.kind}"] = phase.planned_end.isoformat() if phase.planned_end else ""
    data.update(overrides)
    return data


def test_edit_changes_dates(client, manager):
    train = make_train(manager)
    login(client, manager)
    assert client.get(f"/trains/{train.pk}/edit/").status_code == 200
    response = client.post(f"/trains/{train.pk}/edit/", edit_post(train, purpose="New purpose"))
    assert response.status_code == 302
    assert fresh(train).purpose == "New purpose"
    (event,) = train.events.filter(kind=EventKind.UPDATED)
    assert event.message == "Changed purpose: none → New purpose"


def test_saving_the_edit_form_unchanged_writes_no_history(client, manager, engineer):
    from trains import services

    train = make_train(manager)
    services.train_update(train=train, by=manager, release_engineers=[engineer])
    train = fresh(train)
    events = train.events.count()
    response = login(client, manager).post(f"/trains/{train.pk}/edit/", edit_post(train))
    assert response.status_code == 302
    assert train.events.count() == events


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("release_engineers", "99999999999999999999"),
        ("release_engineers", str(2**63)),
        ("primary_manager", "99999999999999999999"),
        ("primary_manager", "\u00b2"),
    ],
)
def test_edit_with_an_id_no_row_can_have_is_a_form_error_and_saves_nothing(
    client, manager, engineer, field, value
):
    train = make_train(manager)
    login(client, manager)
    response = client.post(f"/trains/{train.pk}/edit/", edit_post(train, **{field: value}))
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [INVALID_ID]
    assert not train.events.filter(kind=EventKind.UPDATED).exists()


def test_stakeholder_sees_dashboard_read_only(client, manager, owner, stakeholder, executive):
    train = make_train(manager)
    scope(train, manager=manager, owner=owner)
    from trains import services

    services.train_grant(train=train, by=manager, user=stakeholder)
    html = login(client, stakeholder).get(f"/trains/{train.pk}/").content.decode()
    assert train.name in html
    assert "Next: Start construction" in html  # where it stands, for everyone
    assert f"/trains/{train.pk}/start_construction/" not in html  # but no button
    assert "Cancel train" not in html
    assert "<form" not in html.split('id="main"')[1].replace('action="/accounts/logout/"', "")


def test_dashboard_shows_disabled_step_with_reasons(client, manager):
    train = make_train(manager)
    html = login(client, manager).get(f"/trains/{train.pk}/").content.decode()
    assert "Start construction" in html and "disabled" in html
    assert "2 scoping exit criteria unmet" in html
    assert "no application release is on the train" in html


@pytest.mark.parametrize("url", ["start_construction", "cancel", "deploy", "decide", "criteria"])
def test_actions_refuse_get(client, manager, url):
    train = make_train(manager)
    assert login(client, manager).get(f"/trains/{train.pk}/{url}/").status_code == 405


def test_unknown_step_is_404(client, manager):
    train = make_train(manager)
    assert (
        login(client, manager).post(f"/trains/{train.pk}/approve_development/").status_code == 404
    )


def test_start_construction_from_the_page(client, people):
    train = make_train(people["manager"])
    scope(train, manager=people["manager"], owner=people["owner"])
    response = login(client, people["manager"]).post(
        f"/trains/{train.pk}/start_construction/", follow=True
    )
    assert fresh(train).state == "construction"
    assert "Start construction: done." in response.content.decode()


def test_unmet_step_comes_back_as_a_message(client, manager):
    train = make_train(manager)
    response = login(client, manager).post(f"/trains/{train.pk}/start_construction/", follow=True)
    assert fresh(train).state == "scoping"
    assert "Cannot start construction" in response.content.decode()


def test_step_by_a_viewer_is_refused_with_a_message(client, people):
    train = make_train(people["manager"])
    scope(train, manager=people["manager"], owner=people["owner"])
    response = login(client, people["qa"]).post(
        f"/trains/{train.pk}/start_construction/", follow=True
    )
    assert "Only the train&#x27;s release managers" in response.content.decode()
    assert fresh(train).state == "scoping"


def test_cancel_without_reason_changes_nothing(client, manager):
    train = make_train(manager)
    response = login(client, manager).post(
        f"/trains/{train.pk}/cancel/", {"reason": " "}, follow=True
    )
    assert fresh(train).state == "scoping"
    assert "Give a reason to cancel train" in response.content.decode()
    client.post(f"/trains/{train.pk}/cancel/", {"reason": "No budget"})
    assert fresh(train).state == "cancelled"


def test_concurrent_move_is_a_message_not_an_error(client, people):
    train = make_train(people["manager"])
    scope(train, manager=people["manager"], owner=people["owner"])
    login(client, people["manager"])
    client.post(f"/trains/{train.pk}/start_construction/")
    response = client.post(f"/trains/{train.pk}/start_construction/", follow=True)
    assert response.status_code == 200
    assert "This train is in construction; only a train in scoping can start" in (
        response.content.decode()
    )


def test_criterion_tick_with_htmx_returns_the_panel(client, people):
    train, dev, _, _ = drive(make_train(people["manager"]), "development_approval", **people)
    from trains import services

    services.decision_record(requirement=dev, by=people["manager"], approve=True)
    criterion = train.criteria.get(phase="verification", rule="manual")
    login(client, people["qa"])
    response = client.post(
        f"/trains/{train.pk}/criteria/{criterion.pk}/check/",
        {"met": "1", "state": "verification"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="criteria"')
    assert 'hx-swap-oob="true"' in html
    assert "Checked by qa" in html
    assert fresh(criterion).met_at is not None
    # without htmx: a redirect back to the panel
    response = client.post(f"/trains/{train.pk}/criteria/{criterion.pk}/check/", {"met": "0"})
    assert response.status_code == 302 and response["Location"].endswith("#criteria")
    assert fresh(criterion).met_at is None


def test_qa_cannot_tick_scoping_criteria(client, people):
    train = make_train(people["manager"])
    from trains import services

    criterion = services.criterion_add(
        train=train, by=people["manager"], phase="scoping", description="Budget"
    )
    login(client, people["qa"]).post(
        f"/trains/{train.pk}/criteria/{criterion.pk}/check/", {"met": "1"}
    )
    assert fresh(criterion).met_at is None


def test_manager_makes_an_automatic_criterion_optional_and_required_again(client, manager):
    train = make_train(manager)
    criterion = train.criteria.get(rule=CriterionCheck.HAS_RELEASES)
    url = f"/trains/{train.pk}/criteria/{criterion.pk}/required/"
    login(client, manager)
    assert f'action="{url}"' in client.get(f"/trains/{train.pk}/").content.decode()
    response = client.post(url, {"required": "0", "state": "scoping"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="criteria"')
    assert "Make required" in html
    assert fresh(criterion).required is False
    event = train.events.latest("id")
    assert event.kind == EventKind.CRITERION and event.message.startswith("Made optional")
    # without htmx: a redirect back to the panel
    response = client.post(url, {"required": "1"})
    assert response.status_code == 302 and response["Location"].endswith("#criteria")
    assert fresh(criterion).required is True


def test_making_a_criterion_optional_needs_a_clear_choice(client, manager):
    train = make_train(manager)
    criterion = train.criteria.get(rule=CriterionCheck.HAS_RELEASES)
    events = train.events.count()
    response = login(client, manager).post(
        f"/trains/{train.pk}/criteria/{criterion.pk}/required/", {"required": "maybe"}, follow=True
    )
    assert "Select a valid choice" in response.content.decode()
    assert fresh(criterion).required is True
    assert train.events.count() == events


def test_stakeholder_cannot_make_a_criterion_optional_and_outsider_gets_404(
    client, manager, stakeholder, outsider
):
    from trains import services

    train = make_train(manager)
    services.train_grant(train=train, by=manager, user=stakeholder)
    criterion = train.criteria.get(rule=CriterionCheck.HAS_RELEASES)
    url = f"/trains/{train.pk}/criteria/{criterion.pk}/required/"
    login(client, stakeholder)
    assert "Make optional" not in client.get(f"/trains/{train.pk}/").content.decode()
    assert client.post(url, {"required": "0"}).status_code == 403
    assert login(client, outsider).post(url, {"required": "0"}).status_code == 404
    assert client.get(url).status_code in (404, 405)
    assert fresh(criterion).required is True


def test_a_criterion_of_a_passed_phase_stays_as_it_is_with_the_reason(client, people):
    train, *_ = drive(make_train(people["manager"]), "construction", **people)
    scoping = train.criteria.get(phase="scoping", rule=CriterionCheck.HAS_RELEASES)
    construction = train.criteria.get(phase="construction", rule=CriterionCheck.RELEASES_COMPLETE)
    login(client, people["manager"])
    html = client.get(f"/trains/{train.pk}/").content.decode()
    assert f"/criteria/{scoping.pk}/required/" not in html
    assert f"/criteria/{construction.pk}/required/" in html
    response = client.post(
        f"/trains/{train.pk}/criteria/{scoping.pk}/required/", {"required": "0"}, follow=True
    )
    assert "The scoping phase is over: its exit criteria can no longer change." in (
        response.content.decode()
    )
    assert fresh(scoping).required is True


def test_criterion_of_another_train_is_404(client, manager):
    train, other = make_train(manager), make_train(manager)
    criterion = other.criteria.first()
    response = login(client, manager).post(
        f"/trains/{train.pk}/criteria/{criterion.pk}/check/", {"met": "1"}
    )
    assert response.status_code == 404


def test_add_criterion_bad_input_saves_nothing(client, manager):
    train = make_train(manager)
    before = train.criteria.count()
    response = login(client, manager).post(
        f"/trains/{train.pk}/criteria/", {"phase": "nonsense", "description": ""}, follow=True
    )
    assert "Select a valid choice" in response.content.decode()
    assert train.criteria.count() == before


def test_requirements_added_and_removed_in_scoping(client, manager, executive):
    from django.contrib.auth.models import Group

    train = make_train(manager)
    group = Group.objects.get(name="executives")
    login(client, manager)
    client.post(
        f"/trains/{train.pk}/requirements/",
        {"gate": "executive", "approver": f"group:{group.pk}", "required_approvals": "1"},
    )
    requirement = train.approval_requirements.get()
    response = client.post(
        f"/trains/{train.pk}/requirements/",
        {"gate": "executive", "approver": f"group:{group.pk}", "required_approvals": "5"},
        follow=True,
    )
    assert "already an approver" in response.content.decode()
    client.post(f"/trains/{train.pk}/requirements/{requirement.pk}/remove/")
    assert not train.approval_requirements.exists()


def test_naming_the_primary_manager_an_executive_approver_shows_why_not(client, manager):
    train = make_train(manager)
    response = login(client, manager).post(
        f"/trains/{train.pk}/requirements/",
        {"gate": "executive", "approver": f"user:{manager.pk}", "required_approvals": "1"},
        follow=True,
    )
    assert "may not give its executive approval" in response.content.decode()
    assert not train.approval_requirements.exists()


def test_editing_the_primary_manager_to_an_executive_approver_is_a_form_error(
    client, manager, other_manager
):
    from trains import services

    train = make_train(manager)
    services.requirement_add(train=train, by=manager, gate="executive", user=other_manager)
    login(client, manager)
    response = client.post(
        f"/trains/{train.pk}/edit/", edit_post(train, primary_manager=other_manager.pk)
    )
    assert response.status_code == 200
    (message,) = response.context["form"].errors["primary_manager"]
    assert "may not give its executive approval" in message
    assert fresh(train).primary_manager == manager


def test_decision_from_the_inbox(client, people):
    train, _, exe, _ = drive(make_train(people["manager"]), "executive_approval", **people)
    login(client, people["executive"])
    inbox = client.get("/approvals/")
    assert train.name in inbox.content.decode()
    response = client.post(
        f"/trains/{train.pk}/decide/",
        {"requirement": exe.pk, "approve": "0", "comment": "", "next": "inbox"},
        follow=True,
    )
    assert "A rejection needs a reason" in response.content.decode()
    assert fresh(train).state == "executive_approval"
    response = client.post(
        f"/trains/{train.pk}/decide/", {"requirement": exe.pk, "approve": "1", "next": "inbox"}
    )
    assert response["Location"] == "/approvals/"
    assert fresh(train).state == "deployment"
    decided = client.get("/approvals/?tab=decided").content.decode()
    assert train.name in decided and "Approved" in decided
    assert train.name not in client.get("/approvals/").content.decode()


def test_inbox_of_someone_with_nothing_to_decide_is_empty_and_not_in_the_navigation(client, qa):
    response = login(client, qa).get("/approvals/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing waits for your decision." in html
    assert 'href="/approvals/"' not in html.split('id="main"')[0]


def test_an_approver_without_an_approver_role_has_the_inbox_before_and_after_deciding(
    client, people
):
    """A QA person named as an executive approver: the link and badge come from having
    something to decide or having decided, not from a role."""
    from approvals.models import Gate
    from trains import services

    qa, manager = people["qa"], people["manager"]
    train = make_train(manager)
    requirement = services.requirement_add(train=train, by=manager, gate=Gate.EXECUTIVE, user=qa)
    train, *_ = drive(train, "executive_approval", **people)
    login(client, qa)
    nav = client.get("/trains/").content.decode().split('id="main"')[0]
    assert 'href="/approvals/"' in nav and ">1<" in nav  # the badge
    assert train.name in client.get("/approvals/").content.decode()
    client.post(
        f"/trains/{train.pk}/decide/",
        {"requirement": requirement.pk, "approve": "0", "comment": "Not yet", "next": "inbox"},
    )
    decided = client.get("/approvals/?tab=decided")
    assert decided.status_code == 200 and train.name in decided.content.decode()
    nav = client.get("/trains/").content.decode().split('id="main"')[0]
    assert 'href="/approvals/"' in nav


def test_decision_that_moves_the_train_reloads_the_page_under_htmx(client, people):
    train, dev, _, _ = drive(make_train(people["manager"]), "development_approval", **people)
    response = login(client, people["manager"]).post(
        f"/trains/{train.pk}/decide/",
        {"requirement": dev.pk, "approve": "1", "state": "development_approval"},
        HTTP_HX_REQUEST="true",
    )
    assert response["HX-Redirect"] == f"/trains/{train.pk}/"
    assert fresh(train).state == "verification"


def test_deploy_from_the_page(client, people):
    train, *_ = drive(make_train(people["manager"]), "deployment", **people)
    login(client, people["engineer"])
    client.post(f"/trains/{train.pk}/deploy/", {"succeeded": "0", "log": "timeout"})
    assert fresh(train).state == "deployment"
    response = client.post(f"/trains/{train.pk}/deploy/", {"succeeded": "maybe"}, follow=True)
    assert "Select a valid choice" in response.content.decode()
    client.post(f"/trains/{train.pk}/deploy/", {"succeeded": "1", "log": "ok"})
    assert fresh(train).state == "closed"
    assert fresh(train).deployments.count() == 2


def test_deploying_from_a_page_someone_else_moved_on_says_so_and_records_nothing(client, people):
    """Two engineers had the page open in deployment; one recorded the deployment: the
    other's form carries the state it showed, and is told the train moved, not why a
    closed train cannot deploy."""
    train, *_ = drive(make_train(people["manager"]), "deployment", **people)
    services.train_deploy(train=fresh(train), by=people["manager"], succeeded=True)
    response = login(client, people["engineer"]).post(
        f"/trains/{train.pk}/deploy/", {"succeeded": "1", "state": "deployment"}, follow=True
    )
    page = response.content.decode()
    assert "Someone else moved this train first: it is now closed" in page
    assert fresh(train).deployments.count() == 1


def test_a_step_from_a_page_the_train_moved_on_from_says_who_moved_it(
    client, manager, owner, executive
):
    """The same manager cancelled the train in another tab: the step from the old page is
    refused, and says the move was theirs."""
    train = make_train(manager)
    scope(train, manager=manager, owner=owner)
    services.train_transition(train=fresh(train), name="cancel", by=manager, reason="No budget")
    response = login(client, manager).post(
        f"/trains/{train.pk}/start_construction/", {"state": "scoping"}, follow=True
    )
    assert "You have moved this train already: it is now cancelled" in response.content.decode()
    assert fresh(train).state == "cancelled"


def test_the_dashboard_step_and_deploy_forms_send_the_state_they_show(client, people):
    train, *_ = drive(make_train(people["manager"]), "deployment", **people)
    page = login(client, people["manager"]).get(f"/trains/{train.pk}/").content.decode()
    forms = re.findall(
        rf'<form method="post" action="/trains/{train.pk}/(?:deploy|cancel)/".*?</form>', page, re.S
    )
    assert len(forms) >= 2, forms  # deploy (the banner) and cancel (the action bar)
    for form in forms:
        assert '<input type="hidden" name="state" value="deployment">' in form, form


@pytest.mark.parametrize("shown", ["", "no-such-state", "x" * 300])
def test_a_step_without_a_known_shown_state_is_judged_on_the_train_as_it_is(
    client, manager, owner, executive, shown
):
    train = make_train(manager)
    scope(train, manager=manager, owner=owner)
    login(client, manager).post(f"/trains/{train.pk}/start_construction/", {"state": shown})
    assert fresh(train).state == "construction"


def test_product_owner_cannot_deploy(client, people):
    train, *_ = drive(make_train(people["manager"]), "deployment", **people)
    response = login(client, people["owner"]).post(
        f"/trains/{train.pk}/deploy/", {"succeeded": "1"}
    )
    assert response.status_code == 403
    assert fresh(train).state == "deployment"


def test_release_add_and_remove_with_reason(client, manager, owner):
    train = make_train(manager)
    release = ReleaseFactory(application__product_owner=owner)
    login(client, manager)
    client.post(f"/trains/{train.pk}/releases/", {"release": release.pk})
    assert fresh(release).train == train
    response = client.post(
        f"/trains/{train.pk}/releases/{release.pk}/remove/", {"reason": ""}, follow=True
    )
    assert "Give a reason" in response.content.decode()
    client.post(f"/trains/{train.pk}/releases/{release.pk}/remove/", {"reason": "Later"})
    assert fresh(release).train is None
    response = client.post(f"/trains/{train.pk}/releases/", {"release": "abc"}, follow=True)
    assert "Choose an application release" in response.content.decode()
    response = client.post(
        f"/trains/{train.pk}/releases/", {"release": "99999999999999999999"}, follow=True
    )
    assert INVALID_ID in response.content.decode()


def test_grant_and_revoke_view(client, manager, stakeholder):
    train = make_train(manager)
    login(client, manager)
    response = client.post(
        f"/trains/{train.pk}/access/", {"username": "nobody", "level": "view"}, follow=True
    )
    assert "No active user has that user name" in response.content.decode()
    client.post(f"/trains/{train.pk}/access/", {"username": "stakeholder", "level": "view"})
    assert client.get(f"/trains/{train.pk}/").status_code == 200
    client.force_login(stakeholder)
    assert client.get(f"/trains/{train.pk}/").status_code == 200
    client.force_login(manager)
    client.post(f"/trains/{train.pk}/access/{stakeholder.pk}/revoke/")
    client.force_login(stakeholder)
    assert client.get(f"/trains/{train.pk}/").status_code == 404


def test_milestones(client, manager):
    train = make_train(manager)
    login(client, manager)
    client.post(
        f"/trains/{train.pk}/milestones/",
        {"name": "Freeze", "due_date": train.start_date.isoformat()},
    )
    milestone = train.milestones.get()
    response = client.post(
        f"/trains/{train.pk}/milestones/",
        {"name": "Too late", "due_date": "2099-01-01"},
        follow=True,
    )
    assert "inside the train" in response.content.decode()
    client.post(f"/trains/{train.pk}/milestones/{milestone.pk}/reach/")
    assert fresh(milestone).reached_at is not None


def test_history_pages_back(client, manager):
    from trains import services

    train = make_train(manager)
    for i in range(60):
        services.criterion_add(train=train, by=manager, phase="scoping", description=f"C{i}")
    login(client, manager)
    html = client.get(f"/trains/{train.pk}/").content.decode()
    assert "Show older events" in html
    oldest_shown = train.events.order_by("-created_at", "-id")[49]
    response = client.get(
        f"/trains/{train.pk}/history/?before={oldest_shown.pk}", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "submitted" in response.content.decode()
    assert client.get(f"/trains/{train.pk}/history/?before=x").status_code == 400


def test_history_without_before_shows_the_newest_page(client, manager, stakeholder):
    from trains import services

    train = make_train(manager)
    services.train_grant(train=train, by=manager, user=stakeholder)
    for i in range(60):
        services.criterion_add(train=train, by=manager, phase="scoping", description=f"C{i}")
    login(client, stakeholder)
    response = client.get(f"/trains/{train.pk}/history/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "C59" in html and "Show older events" in html
    assert "submitted" not in html  # the oldest event is on a later page
    assert len(response.context["events"]) == 50
    assert "older history" not in html


@pytest.mark.parametrize("before", ["abc", "-1", "1.5", "\u00b2", "99999999999999999999"])
def test_history_before_that_is_no_event_id_answers_400_with_the_reason(client, manager, before):
    train = make_train(manager)
    login(client, manager)
    response = client.get(f"/trains/{train.pk}/history/", {"before": before})
    assert response.status_code == 400
    assert "?before= names the event to page back from" in response.content.decode()


def test_calendar_month_and_bad_month(client, manager):
    train = make_train(manager)
    login(client, manager)
    # the month of the scoping deadline, whatever today is (it may be the next month)
    month = train.phases.get(kind="scoping").planned_end.strftime("%Y-%m")
    html = client.get(f"/calendar/?month={month}").content.decode()
    assert "Scoping ends" in html and train.name in html
    assert client.get("/calendar/?month=2026-13").status_code == 400
    assert client.get("/calendar/?month=abc").status_code == 400


def test_calendar_hides_trains_one_may_not_see(client, manager, outsider):
    train = make_train(manager)
    login(client, outsider)
    html = client.get(f"/calendar/?month={train.start_date:%Y-%m}").content.decode()
    assert train.name not in html


def test_an_approver_through_a_group_sees_the_badge_and_others_no_link(client, people, stakeholder):
    """The executive is asked through the executives group; a stakeholder is asked
    nothing and has decided nothing."""
    train, *_ = drive(make_train(people["manager"]), "executive_approval", **people)
    nav = login(client, people["executive"]).get("/trains/").content.decode()
    nav = nav.split('id="main"')[0]
    assert 'href="/approvals/"' in nav and 'aria-label="1 waiting"' in nav
    nav = login(client, stakeholder).get("/calendar/").content.decode().split('id="main"')[0]
    assert 'href="/approvals/"' not in nav
