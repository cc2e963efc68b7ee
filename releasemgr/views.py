"""Pages of the site as a whole, outside any app."""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

FAVICON = "favicon.svg"


@require_GET
@cache_control(public=True, max_age=24 * 60 * 60)
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for by themselves: the site's icon, the file
    base.html links from static/ (a few hundred bytes, read as it is asked for)."""
    return HttpResponse(Path(finders.find(FAVICON)).read_bytes(), content_type="image/svg+xml")
