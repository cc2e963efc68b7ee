"""Filters of the trains list; the CSV export and the API use the same ones."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django_filters.fields import ModelChoiceField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from releasemgr import roles
from releasemgr.ids import IdChoiceMixin, IdField
from trains.choices import TrainState, TrainType
from trains.models import ReleaseTrain


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """An id in the query string (releasemgr.ids): a clear 400, never a huge integer
    handed to the database."""

    field_class = IdField


class IdModelChoiceField(IdChoiceMixin, ModelChoiceField):
    pass


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
