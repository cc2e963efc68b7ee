"""Sign-in throttling helpers for django-axes: whose attempts, from where."""

from __future__ import annotations

from django.http import HttpRequest

# django-axes stores the user name it throttles in a 255-character column; a longer
# name posted to the sign-in form made the failed attempt unsavable and the page a 500.
# No real user name is longer than the User model's 150 characters.
MAX_USERNAME = 150


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The user name an attempt is counted against, cut to what a user name can be."""
    if credentials:
        username = credentials.get("username")
    else:
        username = getattr(request, "data", request.POST).get("username")
    if username is None:
        return None
    return str(username)[:MAX_USERNAME]


def client_ip(request: HttpRequest) -> str | None:
    """The address sign-in attempts are counted against.

    Behind TRUSTED_PROXIES reverse proxies (settings; 0 by default), REMOTE_ADDR is the
    nearest proxy's, and each proxy appends the address it saw to X-Forwarded-For: the
    client's is the TRUSTED_PROXIES-th entry from the right. Entries further left are
    whatever the client sent, and are never trusted.
    """
    from django.conf import settings

    proxies = getattr(settings, "TRUSTED_PROXIES", 0)
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")
