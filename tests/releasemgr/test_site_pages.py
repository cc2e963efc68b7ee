"""Small things of the site as a whole: the favicon, changing one's password from the
profile, the app's navigation on the API docs, and `make run`'s mail links."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def test_favicon_ico_is_the_sites_icon_for_anyone(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
    assert "max-age=86400" in response["Cache-Control"]


def test_every_page_links_the_icon(client):
    html = client.get("/accounts/login/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html


def test_the_profile_links_to_the_password_change(client, manager):
    client.force_login(manager)
    html = client.get("/profile/").content.decode()
    assert 'href="/profile/password/"' in html
    page = client.get("/profile/password/").content.decode()
    assert "<h1" in page and "Change your password" in page
    assert 'aria-label="Main"' in page  # a page of the app, with its navigation
    assert 'name="old_password"' in page


def test_changing_the_password_keeps_one_signed_in(client, manager):
    client.force_login(manager)
    response = client.post(
        "/profile/password/",
        {
            "old_password": "pw",
            "new_password1": "a new long passphrase 42",
            "new_password2": "a new long passphrase 42",
        },
        follow=True,
    )
    assert response.redirect_chain == [("/profile/password/done/", 302)]
    assert "Your password is changed" in response.content.decode()
    manager.refresh_from_db()
    assert manager.check_password("a new long passphrase 42")
    assert client.get("/profile/").status_code == 200  # still signed in


def test_a_wrong_old_password_changes_nothing(client, manager):
    client.force_login(manager)
    response = client.post(
        "/profile/password/",
        {"old_password": "nope", "new_password1": "x" * 20, "new_password2": "x" * 20},
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    manager.refresh_from_db()
    assert manager.check_password("pw")


def test_the_password_change_asks_the_anonymous_to_sign_in(client):
    response = client.get("/profile/password/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_api_docs_carry_the_apps_navigation(client, manager):
    client.force_login(manager)
    html = client.get("/api/docs/").content.decode()
    assert '<nav class="navbar' in html and 'aria-label="Main"' in html
    assert 'href="/trains/"' in html and 'href="/profile/"' in html
    assert '<div id="swagger-ui"></div>' in html


@pytest.mark.slow
def test_make_run_points_the_mail_links_at_its_port(tmp_path):
    """scripts/run-dev.sh with stand-ins for Python and Celery that write down SITE_URL."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run-dev.sh", tmp_path / "scripts" / "run-dev.sh")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    # The worker runs in the background: the server waits until it has written.
    wait = (
        'i=0; while [ ! -s "$(dirname "$0")/celery.log" ] && [ $i -lt 300 ]; '
        "do sleep 0.1; i=$((i+1)); done"
    )
    for name, then in (("python", f'case "$*" in *runserver*) {wait};; esac'), ("celery", "")):
        stand_in = bin_dir / name
        stand_in.write_text(f'#!/bin/sh\necho "{name} $*: $SITE_URL" >> "$0.log"\n{then}\n')
        stand_in.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "SITE_URL"}

    def run(**extra):
        for log in bin_dir.glob("*.log"):
            log.unlink()
        subprocess.run(
            ["bash", "scripts/run-dev.sh"],
            cwd=tmp_path,
            env={**env, **extra},
            check=True,
            capture_output=True,
            timeout=30,
        )
        return (bin_dir / "python.log").read_text() + (bin_dir / "celery.log").read_text()

    # migrate, seed_demo and runserver, and the worker: all four see the same address
    seen = run(PORT="8123")
    assert "runserver 127.0.0.1:8123: http://127.0.0.1:8123" in seen
    assert "celery -A releasemgr worker" in seen.replace(str(bin_dir) + "/", "")
    assert seen.count(": http://127.0.0.1:8123\n") == 4
    assert run().count(": http://127.0.0.1:8000\n") == 4
    told = run(PORT="8123", SITE_URL="https://releases.example.com")
    assert told.count(": https://releases.example.com\n") == 4
