import pytest

from tests.factories import ReleaseFactory, drive, fresh, make_train
from trains import services

pytestmark = pytest.mark.django_db


def test_product_owner_registers_an_application_and_a_release(client, owner):
    client.force_login(owner)
    response = client.post("/applications/", {"name": "Payroll", "product_owner": owner.pk})
    app = owner.owned_applications.get()
    assert response["Location"] == f"/applications/{app.pk}/"
    client.post(f"/applications/{app.pk}/", {"version": "2.0"})
    response = client.post(f"/applications/{app.pk}/", {"version": "2.0"})
    assert "already has a release with that version" in response.content.decode()
    assert app.releases.count() == 1


def test_bad_application_input_shows_errors(client, owner):
    client.force_login(owner)
    response = client.post("/applications/", {"name": ""})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()


def test_owner_moves_release_through_development(client, owner):
    release = ReleaseFactory(application__product_owner=owner)
    client.force_login(owner)
    client.post(f"/applications/releases/{release.pk}/start_development/")
    assert fresh(release).state == "in_development"
    response = client.post(f"/applications/releases/{release.pk}/start_development/", follow=True)
    assert "not possible now" in response.content.decode()
    assert client.get(f"/applications/releases/{release.pk}/start_development/").status_code == 405
    assert client.post(f"/applications/releases/{release.pk}/fly/").status_code == 404


def test_other_product_owner_gets_404(client, owner):
    from releasemgr import roles
    from tests.factories import UserFactory

    other = UserFactory(roles=[roles.PRODUCT_OWNERS])
    release = ReleaseFactory(application__product_owner=owner)
    client.force_login(other)
    assert client.get(f"/applications/{release.application_id}/").status_code == 404
    assert client.post(f"/applications/releases/{release.pk}/start_development/").status_code == 404


def test_turnover_submit_and_engineer_decides(client, people):
    train, _, exe, (first, second) = drive(
        make_train(people["manager"]), "executive_approval", **people
    )
    services.decision_record(requirement=exe, by=people["executive"], approve=True)
    client.force_login(people["owner"])
    client.post(f"/applications/releases/{first.pk}/turnover/", {"description": "build 1"})
    client.post(f"/applications/releases/{second.pk}/turnover/", {"description": "build 2"})
    t1, t2 = (r.turnovers.get() for r in (first, second))
    client.force_login(people["engineer"])
    page = client.get("/applications/").content.decode()
    assert "Turnovers waiting for review" in page and "build 1" in page
    client.post(f"/applications/turnovers/{t1.pk}/accept/")
    response = client.post(f"/applications/turnovers/{t2.pk}/reject/", {"reason": ""}, follow=True)
    assert "Give a reason" in response.content.decode()
    client.post(f"/applications/turnovers/{t2.pk}/reject/", {"reason": "No runbook"})
    assert (fresh(t1).state, fresh(t2).state) == ("accepted", "rejected")
    response = client.post(f"/applications/turnovers/{t1.pk}/accept/", follow=True)
    assert "already decided" in response.content.decode()


def test_owner_cannot_decide_turnovers(client, people):
    train, _, exe, (first, _) = drive(make_train(people["manager"]), "executive_approval", **people)
    turnover = services.turnover_submit(
        release=fresh(first), by=people["owner"], description="build"
    )
    client.force_login(people["owner"])
    response = client.post(f"/applications/turnovers/{turnover.pk}/accept/", follow=True)
    assert "Only release engineers" in response.content.decode()
    assert fresh(turnover).state == "submitted"


def test_a_product_owner_registers_only_their_own_applications(client, owner, role_groups):
    # Found by the fuzz tests: registering one for another owner led to a 404 on it.
    from applications.models import Application
    from tests.factories import UserFactory

    other = UserFactory(username="other_owner", roles=["product_owners"])
    client.force_login(owner)
    response = client.post("/applications/", {"name": "Payroll", "product_owner": other.pk})
    assert response.status_code == 200
    assert "You can register only applications you own" in response.content.decode()
    assert not Application.objects.exists()


# Buttons that can only fail are not shown: the page asks the services' own refusals -----


class Rollback(Exception):
    pass


def _succeeds(call) -> bool:
    """Whether a service call would succeed now; nothing it writes is kept."""
    from django.db import transaction

    from releasemgr.exceptions import ServiceError

    try:
        with transaction.atomic():
            call()
            raise Rollback
    except Rollback:
        return True
    except ServiceError:
        return False


@pytest.mark.parametrize(
    "state", ["scoping", "construction", "verification", "deployment", "closed"]
)
def test_the_application_page_offers_exactly_what_the_services_allow(client, people, state):
    from applications.models import RELEASE_TRANSITIONS

    train, *_, releases = drive(make_train(people["manager"]), state, **people)
    owner = people["owner"]
    client.force_login(owner)
    for release in releases:
        page = client.get(f"/applications/{release.application_id}/")
        (shown,) = [r for r in page.context["releases"] if r.pk == release.pk]
        for name in RELEASE_TRANSITIONS:
            allowed = _succeeds(
                lambda name=name, release=release: services.release_transition(
                    release=fresh(release), name=name, by=owner
                )
            )
            assert (name in [s.name for s in shown.actions.steps]) == allowed, (state, name)
        allowed = _succeeds(
            lambda release=release: services.turnover_submit(
                release=fresh(release), by=owner, description="x"
            )
        )
        assert shown.actions.submit_turnover == allowed, state


def test_a_closed_trains_release_offers_neither_reopening_nor_a_turnover(client, people):
    train, *_, (release, _) = drive(make_train(people["manager"]), "closed", **people)
    client.force_login(people["owner"])
    html = client.get(f"/applications/{release.application_id}/").content.decode()
    assert "Reopen development" not in html and "Submit turnover" not in html
    assert "Mark development complete" not in html and "Start development" not in html
    # and the service agrees: pressing it anyway is refused with the reason
    response = client.post(f"/applications/releases/{release.pk}/reopen_development/", follow=True)
    assert "can change only in scoping or construction" in response.content.decode()
    assert fresh(release).state == "development_complete"


def test_only_the_latest_turnover_shows_and_earlier_ones_are_behind_a_disclosure(client, people):
    train, *_, (release, _) = drive(make_train(people["manager"]), "verification", **people)
    owner, engineer = people["owner"], people["engineer"]
    first = services.turnover_submit(release=fresh(release), by=owner, description="v1")
    services.turnover_decide(turnover=first, by=engineer, accept=False, reason="No runbook")
    second = services.turnover_submit(release=fresh(release), by=owner, description="v2")
    services.turnover_decide(turnover=second, by=engineer, accept=True)
    client.force_login(owner)
    html = client.get(f"/applications/{release.application_id}/").content.decode()
    card = html.split(f'id="release-{release.pk}"')[1].split("</article>")[0]
    latest, earlier = card.split("<details")
    assert "Accepted" in latest and "Rejected" not in latest and "No runbook" not in latest
    assert "Earlier turnovers (1)" in earlier and "Rejected" in earlier and "No runbook" in earlier
