"""The Jinja2 environment for the pages' hot bodies: the rows a page renders a hundred
times (a train's releases, exit criteria and history, the calendar's month, the inbox's
trains). Jinja2 compiles a template to Python, so a row costs a few microseconds where
Django's engine spends 50–80 (bench/RESULTS.md). HTML stays in templates
(`templates/jinja2/`), autoescaped like every other; the page around them stays a Django
template and includes them with `{% jinja "name" %}` (releasemgr/templatetags/jinja.py).

What the bodies use of Django's template language is here under the same names: `url()`
for `{% url %}`, `csrf_input` for `{% csrf_token %}`, and Django's own `date`,
`pluralize`, `linebreaksbr` and `person` filters.
"""

from __future__ import annotations

from django.template import defaultfilters
from django.urls import reverse
from django.utils.timezone import template_localtime
from jinja2 import Environment

from releasemgr.people import person


def url(name: str, *args, **kwargs) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


def date(value, arg: str | None = None) -> str:
    """Django's `date` filter, in the current time zone as Django's engine gives it."""
    return defaultfilters.date(template_localtime(value), arg)


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
