"""The API's filters: the trains list's own (trains.filters), plus `type` as the API
names it, and the releases list's."""

import django_filters

from applications.models import ApplicationRelease, ReleaseState
from trains.choices import TrainType
from trains.filters import IdFilter, TrainFilter


class ApiTrainFilter(TrainFilter):
    type = django_filters.ChoiceFilter(
        field_name="train_type", choices=TrainType.choices, label="Type"
    )

    class Meta(TrainFilter.Meta):
        fields = [*TrainFilter.Meta.fields, "type"]


class ReleaseFilter(django_filters.FilterSet):
    train = IdFilter(field_name="train_id")
    application = IdFilter(field_name="application_id")
    state = django_filters.ChoiceFilter(choices=ReleaseState.choices)

    class Meta:
        model = ApplicationRelease
        fields = ["train", "application", "state"]
