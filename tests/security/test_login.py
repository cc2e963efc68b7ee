"""Signing in: throttled after repeated failures (django-axes), sessions that expire,
passwords that must be strong."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def _attempt(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_wrong_passwords_lock_the_user_out_with_a_clear_page(manager):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _attempt(client, "manager", "wrong")
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content
    locked = _attempt(client, "manager", "wrong")
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Too many failed sign-ins" in html and "manager" in html
    assert "15:00" in html or "0:15:00" in html  # the cool-off, in words a person reads
    # Even the right password is refused while locked out, and nobody is signed in.
    again = _attempt(client, "manager", "pw")
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_user_and_address(manager, owner):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(Client(), "manager", "wrong", ip="10.0.0.1")
    assert _attempt(Client(), "manager", "pw", ip="10.0.0.1").status_code == 429
    # The same person from elsewhere, and someone else from the same address, still get in.
    assert _attempt(Client(), "manager", "pw", ip="10.0.0.2").status_code == 302
    assert _attempt(Client(), "owner", "pw", ip="10.0.0.1").status_code == 302


def test_behind_a_proxy_the_forwarded_address_counts_and_cannot_be_spoofed(manager, settings):
    settings.TRUSTED_PROXIES = 1
    proxy = "10.9.9.9"

    def attempt(forwarded, password="wrong"):
        return Client().post(
            LOGIN,
            {"username": "manager", "password": password},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    for i in range(settings.AXES_FAILURE_LIMIT):
        # a guesser varying the part of the header it controls is still one address
        attempt(f"198.51.100.{i}, 203.0.113.7")
    assert attempt("203.0.113.7", "pw").status_code == 429
    # the same user from another client behind the same proxy is not locked out
    assert attempt("203.0.113.8", "pw").status_code == 302


def test_a_successful_sign_in_resets_the_count(manager):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _attempt(client, "manager", "wrong")
    assert _attempt(client, "manager", "pw").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _attempt(client, "manager", "wrong")
    assert _attempt(client, "manager", "pw").status_code == 302


def test_lockout_ends_after_the_cool_off(manager):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(Client(), "manager", "wrong")
    assert _attempt(Client(), "manager", "pw").status_code == 429
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert _attempt(Client(), "manager", "pw").status_code == 302


def test_an_absurdly_long_user_name_is_refused_not_a_server_error(role_groups):
    # Found by the fuzz tests: django-axes could not store a 300-character user name.
    client = Client(raise_request_exception=False)
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _attempt(client, "<" * 300, "guess")
        assert response.status_code == 200, attempt
    assert _attempt(client, "<" * 300, "guess").status_code == 429


def test_unknown_user_names_are_throttled_too(role_groups):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(Client(), "nobody", "guess")
    assert _attempt(Client(), "nobody", "guess").status_code == 429


def test_session_cookie_dies_with_the_browser_and_the_session_after_twelve_hours(manager):
    client = Client()
    response = _attempt(client, "manager", "pw")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert not cookie["max-age"] and not cookie["expires"]  # a browser-session cookie
    assert cookie["httponly"]
    session = Session.objects.get(session_key=cookie.value)
    lifetime = session.expire_date - timezone.now()
    assert timedelta(hours=11, minutes=59) < lifetime <= timedelta(hours=12)


def test_an_expired_session_is_signed_out(manager):
    client = Client()
    _attempt(client, "manager", "pw")
    assert client.get("/trains/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/trains/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


@pytest.mark.parametrize(
    "password", ["demo", "short1!", "password1234", "123456789012", "manager12345"]
)
def test_weak_passwords_are_refused(manager, password):
    with pytest.raises(ValidationError):
        validate_password(password, user=manager)


def test_a_long_uncommon_passphrase_is_accepted(manager):
    assert validate_password("copper kettle drifts east", user=manager) is None
