"""Ids that come from outside (a form, a query string, a JSON body): a whole number a
primary key can hold, or a clear refusal before any query.

SQLite cannot even bind an integer beyond 64 bits (OverflowError: a 500), where
PostgreSQL finds nothing; refusing such ids first gives the same answer on both. Every
form field, filter and API field that takes an id goes through `parse_id`: the form
fields are here, the API's in api/serializers.py, the filters' in trains/filters.py.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.forms.models import ModelChoiceIterator

MAX_ID = 2**63 - 1  # the largest BigAutoField, and SQLite's largest integer
INVALID_ID = f"Not a valid id: ids are whole numbers from 1 to {MAX_ID}."


def parse_id(value: object) -> int:
    """The id as an int, or ValidationError when it is not one a row can have."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        digits = value.strip()
        # ASCII digits only (int() takes '²' no better than 'abc'), and no more of them
        # than MAX_ID has: int() of thousands of digits is refused, or slow.
        if digits.isascii() and digits.isdigit() and len(digits.lstrip("0")) <= len(str(MAX_ID)):
            number = int(digits)
    if number is None or not 1 <= number <= MAX_ID:
        raise ValidationError(INVALID_ID, code="invalid_id")
    return number


class ListChoiceIterator(ModelChoiceIterator):
    """A choice list read as one plain query. Django's own reads it with `iterator()`,
    which on PostgreSQL opens a server-side cursor (DECLARE, FETCH, CLOSE: three round
    trips and a held portal) for a list of a few dozen people."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class IdChoiceMixin:
    """For a ModelChoiceField keyed on the primary key: check the id before the query,
    and read the choices in one plain query (ListChoiceIterator)."""

    iterator = ListChoiceIterator

    def to_python(self, value):
        if value not in self.empty_values and not isinstance(value, Model):
            value = parse_id(value)
        return super().to_python(value)


class IdChoiceField(IdChoiceMixin, forms.ModelChoiceField):
    pass


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """ModelMultipleChoiceField whose ids are checked before the query (`pk__in`, which
    Django does not guard against integers the database cannot hold)."""

    iterator = ListChoiceIterator

    def _check_values(self, value):
        return super()._check_values([parse_id(v) for v in value])


class IdField(forms.IntegerField):
    """An id typed into a form or a query string."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        return parse_id(value)
