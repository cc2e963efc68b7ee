"""Pages of the site as a whole, outside any app."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from django.contrib.staticfiles import finders
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views import defaults
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

FAVICON = "favicon.svg"


@require_GET
@cache_control(public=True, max_age=24 * 60 * 60)
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for by themselves: the site's icon, the file
    base.html links from static/ (a few hundred bytes, read as it is asked for)."""
    return HttpResponse(Path(finders.find(FAVICON)).read_bytes(), content_type="image/svg+xml")


# The database went away under a request: its connection was terminated (a restart, a
# failover, pg_terminate_backend) or could not be opened. The request was not carried out
# (every change runs in one transaction), so it may simply be sent again.
DATABASE_AWAY = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 2


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500, for whatever a view or a middleware raised. A broken database
    connection answers 503 with Retry-After and the page that says to try again, and is
    closed, so that the next request this process serves opens a fresh one; anything
    else is Django's own 500 page (templates/500.html)."""
    error = sys.exc_info()[1]
    if not isinstance(error, DATABASE_AWAY):
        return defaults.server_error(request)
    for connection in connections.all(initialized_only=True):
        with contextlib.suppress(Exception):  # already broken: closing is all that is left
            connection.close()
    response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
