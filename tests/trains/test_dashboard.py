"""The train's page: the status banner each role sees, acting on releases and turnovers
from the page, the navigation's counts, and the timeline."""

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from applications.models import RELEASE_TRANSITIONS
from releasemgr.exceptions import ServiceError
from tests.factories import drive, fresh, make_train, scope
from trains import services

pytestmark = pytest.mark.django_db


def page(client, user, train):
    client.force_login(user)
    response = client.get(f"/trains/{train.pk}/")
    assert response.status_code == 200
    return response


def section(html: str, element_id: str) -> str:
    """One section of the page, by its id: what is inside its opening tag."""
    inside = html.split(f'id="{element_id}"', 1)[1].split(">", 1)[1]
    return inside.split("</section>", 1)[0]


def banner(client, user, train) -> str:
    return section(page(client, user, train).content.decode(), "status")


def text(html: str) -> str:
    """What a person reads: the markup's text, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def nav(client, user) -> str:
    client.force_login(user)
    return client.get("/trains/").content.decode().split('id="main"')[0]


# The banner, for each role -----------------------------------------------------------------


def test_the_banner_comes_first_under_the_title(client, manager):
    train = make_train(manager)
    html = page(client, manager, train).content.decode()
    header = html.split('id="train-header"')[1]
    assert header.index("<h1") < header.index('id="status"') < header.index("Release manager")


def test_the_title_carries_the_state_and_the_health(client, manager):
    train = make_train(manager)
    title = page(client, manager, train).content.decode().split('id="train-header"')[1]
    title = title.split('id="status"')[0]
    assert f'<span class="badge text-bg-{train.badge}">Scoping</span>' in title
    assert "Health: " in text(title)


def test_a_stakeholder_reads_where_it_stands_and_has_nothing_to_press(client, people, stakeholder):
    manager = people["manager"]
    train = make_train(manager)
    scope(train, manager=manager, owner=people["owner"])
    services.train_grant(train=train, by=manager, user=stakeholder)
    shown = banner(client, stakeholder, train)
    assert "Being scoped" in shown
    assert "Next: Start construction" in text(shown)
    assert "waiting on manager" in text(shown)
    assert f"since {timezone.localdate():%Y-%m-%d}" in text(shown)
    assert f"Scoping due {fresh(train).phases.get(kind='scoping').planned_end:%Y-%m-%d}" in (
        text(shown)
    )
    assert "<form" not in shown and "<button" not in shown


def test_the_manager_gets_the_next_step_with_what_blocks_it(client, manager):
    train = make_train(manager)
    html = page(client, manager, train).content.decode()
    shown = section(html, "status")
    assert re.search(r"<button[^>]*disabled[^>]*>Start construction</button>", shown)
    assert "Start construction</strong> is waiting: 2 scoping exit criteria unmet" in shown
    assert "no application release is on the train" in shown
    # the action bar keeps the rest, not the step again
    actions = section(html, "actions")
    assert "Cancel train" in actions and "Start construction" not in actions


def test_the_manager_takes_the_next_step_from_the_banner(client, people):
    manager = people["manager"]
    train = make_train(manager)
    scope(train, manager=manager, owner=people["owner"])
    shown = banner(client, manager, train)
    assert f'action="/trains/{train.pk}/start_construction/"' in shown
    assert "disabled" not in shown


def test_an_approver_decides_in_the_banner_and_the_approvals_panel_points_there(client, people):
    train, dev, *_ = drive(make_train(people["manager"]), "development_approval", **people)
    html = page(client, people["manager"], train).content.decode()
    shown = section(html, "status")
    assert "Waiting for development approval" in shown
    assert "Next: Verification, once approved" in text(shown)
    assert f'name="requirement" value="{dev.pk}"' in shown
    assert ">Approve</button>" in shown and ">Reject</button>" in shown
    approvals = section(html, "approvals")
    assert "<textarea" not in approvals and "Your decision is asked at the top" in approvals


def test_at_the_executive_gate_the_executive_decides_and_the_others_read(
    client, people, stakeholder
):
    train, _, exe, _ = drive(make_train(people["manager"]), "executive_approval", **people)
    services.train_grant(train=train, by=people["manager"], user=stakeholder)
    assert f'value="{exe.pk}"' in banner(client, people["executive"], train)
    for reader in (stakeholder, people["manager"]):
        shown = banner(client, reader, train)
        assert "Waiting for executive approval" in shown
        assert "0 of 1 approvals" in shown and "<textarea" not in shown
    # the owner is asked for the turnovers meanwhile
    assert "Submit turnover of" in banner(client, people["owner"], train)


def test_after_an_executive_rejection_the_banner_says_so_before_the_enabled_step(
    client, people, stakeholder
):
    train, _, exe, _ = drive(make_train(people["manager"]), "executive_approval", **people)
    services.train_grant(train=train, by=people["manager"], user=stakeholder)
    services.decision_record(
        requirement=exe, by=people["executive"], approve=False, comment="Too risky this week"
    )
    shown = text(banner(client, people["manager"], fresh(train)))
    rejection = shown.index("Rejected at executive approval by executive on")
    assert "“Too risky this week”" in shown
    assert rejection < shown.index("Request executive approval")
    assert "In verification" in shown
    assert "Rejected at executive approval" in text(banner(client, stakeholder, fresh(train)))
    # once the train waits at that gate again, its approvers are reminded why
    services.train_transition(
        train=fresh(train), name="request_executive_approval", by=people["manager"]
    )
    shown = text(banner(client, people["executive"], fresh(train)))
    assert "Rejected at executive approval by executive" in shown
    assert "(the last round)" in shown


def test_a_cancelled_train_says_who_cancelled_it_and_why(client, manager):
    train = make_train(manager)
    services.train_transition(train=train, name="cancel", by=manager, reason="Budget moved")
    shown = text(banner(client, manager, fresh(train)))
    assert shown.startswith("Cancelled")
    assert "Cancelled by manager on" in shown and "“Budget moved”" in shown
    assert "Next:" not in shown


def test_a_closed_train_says_when(client, people):
    train, *_ = drive(make_train(people["manager"]), "closed", **people)
    shown = text(banner(client, people["manager"], train))
    assert shown == f"Deployed and closed Closed on {timezone.localdate():%Y-%m-%d}."


def test_the_owner_starts_and_completes_their_releases_from_the_banner(client, people):
    train, *_, (first, second) = drive(make_train(people["manager"]), "construction", **people)
    shown = text(banner(client, people["owner"], train))
    assert f"Your release {first} waits for you (and 1 more in the releases below)" in shown
    assert f"Start development of {first}" in shown
    client.post(
        f"/applications/releases/{first.pk}/start_development/",
        {"next": "train", "state": "construction"},
    )
    assert f"Mark development complete for {first}" in text(banner(client, people["owner"], train))


def test_after_construction_the_owner_is_asked_for_the_turnover(client, people):
    train, *_, (first, _) = drive(make_train(people["manager"]), "verification", **people)
    shown = banner(client, people["owner"], train)
    assert f'action="/applications/releases/{first.pk}/turnover/"' in shown
    assert f"Submit turnover of {first}" in shown


def test_in_deployment_the_engineer_reviews_turnovers_then_records_the_deployment(client, people):
    engineer, owner = people["engineer"], people["owner"]
    # drive() to deployment accepts the turnovers itself: stop at the gate and go on by hand
    train, *_, releases = drive(make_train(people["manager"]), "executive_approval", **people)
    services.decision_record(
        requirement=fresh(train).approval_requirements.get(gate="executive"),
        by=people["executive"],
        approve=True,
    )
    turnovers = [
        services.turnover_submit(release=fresh(r), by=owner, description="build") for r in releases
    ]
    shown = text(banner(client, engineer, fresh(train)))
    # in the releases' order on the page, by application name ("App 10" before "App 9")
    in_order = sorted(releases, key=lambda r: (r.application.name, r.version))
    assert f"Turnovers to review: {in_order[0]}, {in_order[1]}" in shown
    assert "Review turnovers below" in shown
    for turnover in turnovers:
        services.turnover_decide(turnover=turnover, by=engineer, accept=True)
    shown = banner(client, engineer, fresh(train))
    assert f'action="/trains/{train.pk}/deploy/"' in shown and "Record deployment" in shown


def test_a_failed_deployment_is_in_the_banner(client, people, stakeholder):
    train, *_ = drive(make_train(people["manager"]), "deployment", **people)
    services.train_grant(train=train, by=people["manager"], user=stakeholder)
    services.train_deploy(train=fresh(train), by=people["engineer"], succeeded=False, log="x")
    shown = text(banner(client, stakeholder, fresh(train)))
    assert "The last deployment failed on" in shown and "stays in deployment" in shown


def test_qa_confirms_the_sign_off_from_the_banner(client, people):
    train, dev, *_ = drive(make_train(people["manager"]), "development_approval", **people)
    services.decision_record(requirement=dev, by=people["manager"], approve=True)
    shown = banner(client, people["qa"], fresh(train))
    assert "Yours to confirm" in shown and "Mark as met" in shown
    criterion = train.criteria.get(phase="verification", rule="manual")
    assert f'action="/trains/{train.pk}/criteria/{criterion.pk}/check/"' in shown


def test_overdue_is_red_in_the_banner(client, manager, time_machine):
    train = make_train(manager)
    scoping_end = train.phases.get(kind="scoping").planned_end
    time_machine.move_to(scoping_end + timedelta(days=2))
    shown = banner(client, manager, fresh(train))
    assert f'<span class="overdue">{scoping_end:%Y-%m-%d} · 2 days overdue</span>' in shown


# Acting on releases and turnovers from the train's page ---------------------------------------


def test_release_names_link_to_their_application_for_whoever_may_open_it(
    client, people, stakeholder
):
    train, *_, (release, _) = drive(make_train(people["manager"]), "construction", **people)
    services.train_grant(train=train, by=people["manager"], user=stakeholder)
    link = f'href="/applications/{release.application_id}/#release-{release.pk}"'
    for user in (people["owner"], people["manager"], people["engineer"]):
        assert link in section(page(client, user, train).content.decode(), "releases")
    for user in (stakeholder, people["qa"]):
        assert "/applications/" not in section(
            page(client, user, train).content.decode(), "releases"
        )


def test_the_owner_moves_a_release_from_the_train_page(client, people):
    train, *_, (first, second) = drive(make_train(people["manager"]), "construction", **people)
    owner = people["owner"]
    releases = section(page(client, owner, train).content.decode(), "releases")
    assert f'action="/applications/releases/{first.pk}/start_development/"' in releases
    assert "complete_development" not in releases and "reopen_development" not in releases
    # without JavaScript: back to the train's releases
    response = client.post(
        f"/applications/releases/{first.pk}/start_development/", {"next": "train"}
    )
    assert response["Location"] == f"/trains/{train.pk}/#releases"
    assert fresh(first).state == "in_development"
    # with htmx: the panel, the banner along out of band
    response = client.post(
        f"/applications/releases/{first.pk}/complete_development/",
        {"next": "train", "state": "construction"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="releases"')
    assert 'id="train-header" class="mb-3" hx-swap-oob="true"' in html
    assert f"{first}: mark development complete — done." in html
    # the last one completed moves the train: the whole page reloads
    for step in ("start_development", "complete_development"):
        response = client.post(
            f"/applications/releases/{second.pk}/{step}/",
            {"next": "train", "state": "construction"},
            HTTP_HX_REQUEST="true",
        )
    assert response["HX-Redirect"] == f"/trains/{train.pk}/"
    assert fresh(train).state == "development_approval"


def test_the_owner_submits_a_turnover_from_the_train_page(client, people):
    train, *_, (first, _) = drive(make_train(people["manager"]), "verification", **people)
    client.force_login(people["owner"])
    response = client.post(
        f"/applications/releases/{first.pk}/turnover/",
        {"description": "packages", "next": "train"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/trains/{train.pk}/#releases"
    assert f"Turnover of {first} submitted" in response.content.decode()
    assert fresh(first).turnovers.get().description == "packages"


def test_the_engineer_accepts_and_rejects_turnovers_in_the_releases_panel(client, people):
    train, *_, (first, second) = drive(make_train(people["manager"]), "verification", **people)
    owner, engineer = people["owner"], people["engineer"]
    t1 = services.turnover_submit(release=fresh(first), by=owner, description="build 1")
    t2 = services.turnover_submit(release=fresh(second), by=owner, description="build 2")
    releases = section(page(client, engineer, train).content.decode(), "releases")
    assert f'action="/applications/turnovers/{t1.pk}/accept/"' in releases
    assert f'action="/applications/turnovers/{t2.pk}/reject/"' in releases
    assert "What is delivered: build 1" in releases
    response = client.post(f"/applications/turnovers/{t1.pk}/accept/", {"next": "train"})
    assert response["Location"] == f"/trains/{train.pk}/#releases"
    response = client.post(
        f"/applications/turnovers/{t2.pk}/reject/",
        {"next": "train", "reason": ""},
        follow=True,
    )
    assert "Give a reason to reject the turnover." in response.content.decode()
    client.post(
        f"/applications/turnovers/{t2.pk}/reject/", {"next": "train", "reason": "No runbook"}
    )
    assert (fresh(t1).state, fresh(t2).state) == ("accepted", "rejected")
    response = client.post(
        f"/applications/turnovers/{t1.pk}/accept/", {"next": "train"}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/trains/{train.pk}/#releases"
    assert "already decided" in response.content.decode()
    # nobody else is offered the decision
    for user in (owner, people["manager"], people["qa"]):
        assert "/accept/" not in page(client, user, train).content.decode()


def test_only_the_latest_turnover_shows_earlier_ones_behind_a_disclosure(client, people):
    train, *_, (release, _) = drive(make_train(people["manager"]), "verification", **people)
    owner, engineer = people["owner"], people["engineer"]
    first = services.turnover_submit(release=fresh(release), by=owner, description="v1")
    services.turnover_decide(turnover=first, by=engineer, accept=False, reason="No runbook")
    second = services.turnover_submit(release=fresh(release), by=owner, description="v2")
    services.turnover_decide(turnover=second, by=engineer, accept=True)
    html = section(page(client, owner, train).content.decode(), "releases")
    row = html.split(f'id="train-release-{release.pk}"')[1].split("</li>\n  ")[0]
    latest, earlier = row.split("<details", 1)
    assert "Accepted" in latest and "Rejected" not in latest and "No runbook" not in latest
    assert "Earlier turnovers (1)" in earlier and "Rejected" in earlier and "No runbook" in earlier


class Rollback(Exception):
    pass


def _succeeds(call) -> bool:
    try:
        with transaction.atomic():
            call()
            raise Rollback
    except Rollback:
        return True
    except ServiceError:
        return False


@pytest.mark.parametrize(
    "state", ["scoping", "construction", "development_approval", "deployment", "closed"]
)
def test_the_train_page_offers_the_owner_exactly_what_the_services_allow(client, people, state):
    train, *_, releases = drive(make_train(people["manager"]), state, **people)
    owner = people["owner"]
    rows = {r.pk: r for r in page(client, owner, train).context["d"].releases}
    for release in releases:
        offered = [s.name for s in rows[release.pk].actions.steps]
        for name in RELEASE_TRANSITIONS:
            allowed = _succeeds(
                lambda name=name, release=release: services.release_transition(
                    release=fresh(release), name=name, by=owner
                )
            )
            assert (name in offered) == allowed, (state, name)
        allowed = _succeeds(
            lambda release=release: services.turnover_submit(
                release=fresh(release), by=owner, description="x"
            )
        )
        assert rows[release.pk].actions.submit_turnover == allowed, state


def test_a_closed_trains_releases_offer_only_moving_or_freeing_to_its_manager(client, people):
    train, *_ = drive(make_train(people["manager"]), "closed", **people)
    for user in people.values():
        html = section(page(client, user, train).content.decode(), "releases")
        if user == people["manager"]:
            assert re.findall(r'action="([^"]+)"', html) == [
                f"/trains/{train.pk}/releases/{r.pk}/remove/"
                for r in train.application_releases.order_by("application__name", "version")
            ]
            assert html.count("to another train…") == 2
        else:
            assert "<form" not in html and "<button" not in html and "/move/" not in html


# The navigation's counts ------------------------------------------------------------------


def _applications_badge(client, user) -> str | None:
    found = re.search(
        r'href="/applications/"[^>]*>Applications\s*(?:<span[^>]*>(\d+)</span>)?', nav(client, user)
    )
    assert found, "no Applications link"
    return found.group(1)


def test_engineers_see_how_many_turnovers_wait_and_owners_their_releases_to_finish(client, people):
    owner, engineer = people["owner"], people["engineer"]
    train, *_, (first, second) = drive(make_train(people["manager"]), "construction", **people)
    assert _applications_badge(client, owner) == "2"  # both to start
    assert _applications_badge(client, engineer) is None
    assert _applications_badge(client, people["manager"]) is None
    services.release_transition(release=fresh(first), name="start_development", by=owner)
    services.release_transition(release=fresh(first), name="complete_development", by=owner)
    assert _applications_badge(client, owner) == "1"
    services.release_transition(release=fresh(second), name="start_development", by=owner)
    services.release_transition(release=fresh(second), name="complete_development", by=owner)
    assert _applications_badge(client, owner) is None  # at the gate: nothing of theirs
    dev = fresh(train).approval_requirements.get(gate="development")
    services.decision_record(requirement=dev, by=people["manager"], approve=True)
    assert _applications_badge(client, owner) == "2"  # now the turnovers
    turnover = services.turnover_submit(release=fresh(first), by=owner, description="b")
    assert _applications_badge(client, owner) == "1"
    assert _applications_badge(client, engineer) == "1"
    client.force_login(engineer)
    applications = client.get("/applications/").content.decode()
    assert re.search(r"Applications\s*<span[^>]*>1</span>", applications)
    services.turnover_decide(turnover=turnover, by=engineer, accept=True)
    assert _applications_badge(client, engineer) is None


# The timeline -----------------------------------------------------------------------------


def test_the_timeline_has_a_dated_axis_today_milestones_and_a_legend(client, manager):
    today = timezone.localdate()
    train = make_train(
        manager,
        start_date=today,
        end_date=today + timedelta(days=90),
        phase_ends={
            "scoping": today + timedelta(days=20),
            "construction": today + timedelta(days=40),
            "verification": today + timedelta(days=60),
            "deployment": today + timedelta(days=80),
        },
    )
    services.milestone_add(
        train=train, by=manager, name="Code freeze", due_date=today + timedelta(days=35)
    )
    html = section(page(client, manager, fresh(train)).content.decode(), "timeline")
    assert "viewBox" not in html and "style=" not in html
    assert f">{today:%d %b %Y}</text>" in html  # the first day, dated
    # a month well inside the window is labelled (January with its year)
    month = (today + timedelta(days=51)).replace(day=1)
    label = month.strftime("%b %Y" if month.month == 1 else "%b")
    assert re.search(rf'<line class="tl-month"[^>]*/>\s*<text[^>]*>{label}</text>', html)
    assert f"Today {today:%d %b}" in html
    assert "<polygon" in html and f"Code freeze: due {today + timedelta(days=35):%Y-%m-%d}" in html
    legend = html.split('aria-label="Legend"')[1].split("</ul>")[0]
    for key in ("Planned", "Actual", "Current phase", "Past its planned end", "Milestone", "Today"):
        assert key in legend


def test_the_timeline_names_the_gate_the_badge_names(client, people):
    train, *_ = drive(make_train(people["manager"]), "development_approval", **people)
    html = section(page(client, people["manager"], train).content.decode(), "timeline")
    assert "Construction · now: Development approval" in html
    assert "Development approval requested" in html  # the gate's mark


def test_a_phase_past_its_planned_end_shows_its_slip(client, manager, time_machine):
    train = make_train(manager)
    scoping_end = train.phases.get(kind="scoping").planned_end
    time_machine.move_to(scoping_end + timedelta(days=3))
    html = section(page(client, manager, fresh(train)).content.decode(), "timeline")
    assert 'class="tl-actual tl-late"' in html
    assert '<span class="overdue">3 days late</span>' in html


def test_a_train_without_planned_ends_draws_what_happened_and_says_not_set(client, manager):
    train = make_train(manager, phase_ends={})
    response = page(client, manager, train)
    timeline = response.context["d"].timeline
    assert [bool(line.bars) for line in timeline.phases] == [True, False, False, False]
    assert [b.css for b in timeline.phases[0].bars] == ["tl-actual tl-current"]  # no plan
    assert "→ not set" in section(response.content.decode(), "timeline")


def test_the_approvals_panel_names_the_deciders_as_people(client, people):
    train, _, exe, _ = drive(make_train(people["manager"]), "executive_approval", **people)
    executive = people["executive"]
    executive.first_name, executive.last_name = "Erin", "Okafor"
    executive.save()
    services.decision_record(requirement=exe, by=executive, approve=False, comment="Not yet")
    services.train_transition(
        train=fresh(train), name="request_executive_approval", by=people["manager"]
    )
    services.decision_record(requirement=exe, by=executive, approve=True, comment="Go")
    panel = text(
        section(page(client, people["manager"], fresh(train)).content.decode(), "approvals")
    )
    assert "Erin Okafor approved" in panel  # this round
    assert "Round 1: Erin Okafor rejected" in panel  # an earlier one
    assert f"{executive.username} approved" not in panel
