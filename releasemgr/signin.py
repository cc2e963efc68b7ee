"""Sign-in throttling helpers for django-axes."""

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
