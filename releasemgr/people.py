"""How pages, mails and the API name a person: the full name, else the user name.

`{{ user|person }}` is the same rule as a template filter (a builtin: no `{% load %}`).
"""

from __future__ import annotations

from django import template

register = template.Library()


def person_name(first: str | None, last: str | None, username: str) -> str:
    """The full name, else the user name, from plain columns."""
    full = f"{first or ''} {last or ''}".strip()
    return full or username


def name_of(user) -> str:
    """A user as people read them; empty for nobody (the system)."""
    if user is None:
        return ""
    return person_name(user.first_name, user.last_name, user.get_username())


@register.filter(name="person")
def person(user) -> str:
    return name_of(user)
