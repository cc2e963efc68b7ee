"""/profile/: tokens created (shown once), named, revoked; the feed URL made (shown once)."""

import re

import pytest

from api import services as api_services
from api.models import ApiToken, CalendarFeed

pytestmark = pytest.mark.django_db


def test_profile_needs_login_and_is_in_the_navigation(client, qa):
    assert client.get("/profile/").status_code == 302
    client.force_login(qa)
    page = client.get("/profile/").content.decode()
    assert 'href="/profile/"' in page
    assert "Make my feed URL" in page
    assert "Manage webhooks" not in page  # QA is no release manager


def test_token_is_shown_once_and_works(client, manager):
    client.force_login(manager)
    response = client.post("/profile/tokens/", {"name": "CI pipeline"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=manager)
    raw = response.context["new_token"]
    assert raw in response.content.decode()
    assert token.name == "CI pipeline" and token.key_hash == api_services.token_hash(raw)
    assert raw not in client.get("/profile/").content.decode()
    api = client.__class__()
    assert api.get("/api/v1/trains/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_token_needs_a_name(client, manager):
    client.force_login(manager)
    response = client.post("/profile/tokens/", {"name": ""})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_revoking_my_token_and_not_someone_elses(client, manager, other_manager):
    mine, raw = api_services.token_create(user=manager, name="mine")
    theirs, _ = api_services.token_create(user=other_manager, name="theirs")
    client.force_login(manager)
    assert client.post(f"/profile/tokens/{theirs.pk}/revoke/").status_code == 404
    assert client.post(f"/profile/tokens/{mine.pk}/revoke/").status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    assert client.get(f"/profile/tokens/{mine.pk}/revoke/").status_code == 405


def test_the_feed_url_is_shown_once_when_made_and_a_new_one_replaces_it(client, manager):
    client.force_login(manager)
    assert "You have no feed URL yet" in client.get("/profile/").content.decode()
    made = client.post("/profile/feed/regenerate/")
    assert made.status_code == 200 and made["Cache-Control"] == "no-store"
    (first,) = re.findall(r"/calendar/feed/([A-Za-z0-9_-]+)\.ics", made.content.decode())
    assert client.get(f"/calendar/feed/{first}.ics").status_code == 200
    # Not stored, so never shown again: the page only says when it was made.
    again = client.get("/profile/").content.decode()
    assert first not in again and "/calendar/feed/" not in again and "was made on" in again
    assert CalendarFeed.objects.get(user=manager).token_hash != first
    (second,) = re.findall(
        r"/calendar/feed/([A-Za-z0-9_-]+)\.ics",
        client.post("/profile/feed/regenerate/").content.decode(),
    )
    assert second != first
    assert client.get(f"/calendar/feed/{first}.ics").status_code == 404
    assert client.get(f"/calendar/feed/{second}.ics").status_code == 200
    assert CalendarFeed.objects.filter(user=manager).count() == 1


def test_release_managers_find_their_webhooks_from_the_profile(client, manager):
    client.force_login(manager)
    assert "/webhooks/" in client.get("/profile/").content.decode()
