"""`{% jinja "trains/_releases.html" %}`: a hot body (releasemgr/jinja2.py) rendered inside
a Django page, with the page's context and the given names added, as `{% include %}`
with `with` would."""

from __future__ import annotations

from django import template
from django.template import engines
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from releasemgr.jinja2 import url_for_render

register = template.Library()


@register.simple_tag(takes_context=True)
def jinja(context, name: str, **extra) -> str:
    values = context.flatten()
    values.update(extra)
    token = values.get("csrf_token")
    # `{% csrf_token %}`'s field, made once for every form of the body (Django's backend
    # would mask the token again for each).
    values["csrf_input"] = (
        format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
        if token and token != "NOTPROVIDED"  # nosec B105 - Django's "no token" sentinel
        else ""
    )
    values["url"] = url_for_render()
    body = engines["jinja2"].get_template(name).template
    # Jinja2 escaped every value it put in (autoescape): the result is HTML.
    return mark_safe(body.render(values))  # nosec B308 B703 - escaped by Jinja2
