"""Filters of the trains list; the CSV export, the API and the calendar use the same ones."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django_filters.fields import ModelChoiceField, ModelChoiceIterator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from releasemgr import roles
from releasemgr.ids import IdChoiceMixin, IdField, ListChoiceIterator
from trains.choices import FINAL_STATES, OPEN_STATES, TrainState, TrainType
from trains.models import ReleaseTrain


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """An id in the query string (releasemgr.ids): a clear 400, never a huge integer
    handed to the database."""

    field_class = IdField


class ListFilterChoiceIterator(ModelChoiceIterator, ListChoiceIterator):
    """django-filter's choices (with its "null" choice), read in one plain query."""


class IdModelChoiceField(IdChoiceMixin, ModelChoiceField):
    iterator = ListFilterChoiceIterator


class IdModelChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = IdModelChoiceField


def _managers(request):
    return get_user_model().objects.filter(groups__name=roles.RELEASE_MANAGERS).order_by("username")


class TrainFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    state = django_filters.MultipleChoiceFilter(choices=TrainState.choices)
    train_type = django_filters.ChoiceFilter(
        choices=TrainType.choices,
        label="Type",
        empty_label="Any type",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    manager = IdModelChoiceFilter(
        field_name="primary_manager",
        queryset=_managers,
        label="Release manager",
        empty_label="Anyone",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    starts_after = django_filters.DateFilter(
        field_name="end_date",
        lookup_expr="gte",
        label="Running on or after",
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )
    ends_before = django_filters.DateFilter(
        field_name="start_date",
        lookup_expr="lte",
        label="Running on or before",
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )

    class Meta:
        model = ReleaseTrain
        fields = ["q", "state", "train_type", "manager", "starts_after", "ends_before"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(purpose__icontains=value))


class CalendarFilter(django_filters.FilterSet):
    """The calendar's filters: the trains list's own type and manager fields."""

    train_type = TrainFilter.declared_filters["train_type"]
    manager = TrainFilter.declared_filters["manager"]

    class Meta:
        model = ReleaseTrain
        fields = ["train_type", "manager"]


class Show(models.TextChoices):
    """Which trains a page shows (`?show=`): the trains list's tabs, the calendar's choice.
    Closed and cancelled trains are one click away, never in the way."""

    NEEDS = "needs", "Needs my action"  # open trains; trains.selectors.lists narrows them
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed and cancelled"
    ALL = "all", "All"


SHOW_STATES: dict[Show, tuple[TrainState, ...]] = {
    Show.NEEDS: OPEN_STATES,
    Show.OPEN: OPEN_STATES,
    Show.CLOSED: FINAL_STATES,
    Show.ALL: tuple(TrainState),
}


def show_from(value: str | None, *, default: Show) -> Show:
    """The `?show=` a page was asked for; `default` when none or an unknown one."""
    return Show(value) if value in Show.values else default


def shown(trains: QuerySet, show: Show) -> QuerySet:
    """The trains whose state `show` includes."""
    return trains if show == Show.ALL else trains.filter(state__in=SHOW_STATES[show])


def query_with(query: QueryDict, **values: str) -> str:
    """A page's query string with these values set: links that keep the other filters."""
    query = query.copy()
    for key, value in values.items():
        query[key] = value
    return query.urlencode()


class InsightFilter(django_filters.FilterSet):
    """The filters of the pages across trains (portfolio, metrics): the trains list's own
    search, state, type and manager fields."""

    q = TrainFilter.declared_filters["q"]
    state = TrainFilter.declared_filters["state"]
    train_type = TrainFilter.declared_filters["train_type"]
    manager = TrainFilter.declared_filters["manager"]
    search = TrainFilter.search  # what `q` calls, on whichever filter set holds it

    class Meta:
        model = ReleaseTrain
        fields = ["q", "state", "train_type", "manager"]
