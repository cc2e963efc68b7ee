"""The Jinja2 environment for the pages' hot bodies: the rows a page renders a hundred
times (a train's releases, exit criteria and history, the calendar's month, the inbox's
trains). Jinja2 compiles a template to Python, so a row costs a few microseconds where
Django's engine spends 50–80 (bench/RESULTS.md). HTML stays in templates
(`templates/jinja2/`), autoescaped like every other; the page around them stays a Django
template and includes them with `{% jinja "name" %}` (releasemgr/templatetags/jinja.py).

What the bodies use of Django's template language is here under the same names: `url()`
for `{% url %}`, `csrf_input` for `{% csrf_token %}`, and Django's own `date`,
`pluralize`, `linebreaksbr` and `person` filters.

The parts a row repeats (badges, the list's deadline, progress and next step) are macros,
imported once a body and called a row: an include took 17–21 µs a row, a macro call 13.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date as Date
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.template import defaultfilters
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.timezone import template_localtime
from django.utils.translation import get_language
from jinja2 import Environment

from releasemgr.people import person


def url(name: str, *args, **kwargs) -> str:
    """`reverse`, remembered: a page links each train from several places, and reversing
    costs 80 µs (the calendar's month reversed 660 links a request)."""
    return url_for_render()(name, *args, **kwargs)


def url_for_render() -> Callable[..., str]:
    """`url` with the request's URL configuration and script prefix read once, for one
    body's render (`{% jinja %}`): reading them for each link was 2 of the 2.5 ms that
    the calendar month's 657 links cost."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    prefix = get_script_prefix()

    def bound(name: str, *args, **kwargs) -> str:
        return _reverse(urlconf, prefix, name, args, tuple(sorted(kwargs.items())))

    return bound


@lru_cache(maxsize=65536)
def _reverse(urlconf: str, prefix: str, name: str, args: tuple, kwargs: tuple) -> str:
    # the script prefix is in the key: reverse() reads it from the thread
    return reverse(name, urlconf=urlconf, args=args or None, kwargs=dict(kwargs) or None)


def date(value, arg: str | None = None) -> str:
    """Django's `date` filter, in the current time zone as Django's engine gives it; a
    day as "Y-m-d" (most of the calendar's and the portfolio's) without the formatter,
    and a day in another format formatted once a language (`_day`)."""
    if isinstance(value, Date) and not isinstance(value, datetime):
        return value.isoformat() if arg == "Y-m-d" else _day(value, arg, get_language())
    return defaultfilters.date(template_localtime(value), arg)


@lru_cache(maxsize=4096)
def _day(value: Date, arg: str | None, language: str | None) -> str:
    # Django's formatter takes 45 µs a day ("j M": the portfolio's 200 deadlines cost
    # 9 ms a request); the language is in the key, as the month names are translated.
    return defaultfilters.date(value, arg)


def environment(**options) -> Environment:
    env = Environment(**options)  # nosec B701 - Django's backend turns autoescape on
    env.globals["url"] = url
    env.filters.update(
        date=date,
        pluralize=defaultfilters.pluralize,
        linebreaksbr=defaultfilters.linebreaksbr,
        person=person,
    )
    return env
