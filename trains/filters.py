"""Filters of the trains list; the CSV export and the API use the same ones."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from releasemgr import roles
from trains.choices import TrainState, TrainType
from trains.models import ReleaseTrain


def _managers(request):
    return get_user_model().objects.filter(groups__name=roles.RELEASE_MANAGERS).order_by("username")


class TrainFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    state = django_filters.MultipleChoiceFilter(choices=TrainState.choices)
    train_type = django_filters.ChoiceFilter(
        choices=TrainType.choices, label="Type", empty_label="Any type"
    )
    manager = django_filters.ModelChoiceFilter(
        field_name="primary_manager",
        queryset=_managers,
        label="Release manager",
        empty_label="Anyone",
    )
    starts_after = django_filters.DateFilter(
        field_name="end_date",
        lookup_expr="gte",
        label="Running on or after",
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}),
    )
    ends_before = django_filters.DateFilter(
        field_name="start_date",
        lookup_expr="lte",
        label="Running on or before",
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = ReleaseTrain
        fields = ["q", "state", "train_type", "manager", "starts_after", "ends_before"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(purpose__icontains=value))
