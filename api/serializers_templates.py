"""What the API reads and writes for templates, clones and schedules."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers import (
    TEXT_MAX,
    IdField,
    IdRelatedField,
    UserSummarySerializer,
    active_users,
)
from trains import planning
from trains.choices import TrainType
from trains.models import (
    Cadence,
    CadenceSchedule,
    ScheduledTrain,
    TemplateEvent,
    TrainTemplate,
)


class TemplateSerializer(serializers.ModelSerializer):
    type = serializers.ChoiceField(source="train_type", choices=TrainType.choices)
    primary_manager = UserSummarySerializer(read_only=True)
    schedules = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = TrainTemplate
        fields = [
            "id",
            "name",
            "name_pattern",
            "type",
            "purpose",
            "primary_manager",
            "duration_days",
            "plan",
            "source_train",
            "schedules",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TemplateSaveSerializer(serializers.Serializer):
    train = IdField(help_text="The train whose plan the template keeps (one you may see).")
    name = serializers.CharField(max_length=120)
    name_pattern = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        help_text="Empty: guessed from the train's name. " + planning.PLACEHOLDER_HELP,
    )


class TemplateWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    name_pattern = serializers.CharField(
        max_length=120, required=False, help_text=planning.PLACEHOLDER_HELP
    )
    type = serializers.ChoiceField(choices=TrainType.choices, required=False)
    purpose = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, required=False)
    primary_manager = IdRelatedField(queryset=active_users(), required=False)
    duration_days = serializers.IntegerField(min_value=0, max_value=3660, required=False)

    def service_arguments(self) -> dict:
        data = dict(self.validated_data)
        if "type" in data:
            data["train_type"] = data.pop("type")
        return data


class TemplateEventSerializer(serializers.ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = TemplateEvent
        fields = ["id", "actor", "created_at", "message", "data"]
        read_only_fields = fields


class CloneSerializer(serializers.Serializer):
    start_date = serializers.DateField(help_text="The new train starts this day.")
    name = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        help_text="Empty: the train's name pattern filled for the new start.",
    )
    releases = serializers.ListField(
        child=IdField(),
        required=False,
        default=list,
        help_text="Application releases to add: the applications' next planned ones "
        "(GET …/clone/ lists them).",
    )


class OfferedReleaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    application = serializers.CharField(source="application.name")
    version = serializers.CharField()


class CloneOfferSerializer(serializers.Serializer):
    suggested_start = serializers.DateField()
    suggested_name = serializers.CharField()
    releases = OfferedReleaseSerializer(many=True)


class FromTemplateSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    name = serializers.CharField(
        max_length=120, required=False, allow_blank=True, help_text="Empty: the pattern."
    )


class MadeTrainSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="train.name", read_only=True)

    class Meta:
        model = ScheduledTrain
        fields = ["train", "name", "window_start"]
        read_only_fields = fields


class ScheduleSerializer(serializers.ModelSerializer):
    description = serializers.SerializerMethodField()
    pattern = serializers.CharField(read_only=True, help_text="The name pattern it uses.")
    made_trains = MadeTrainSerializer(many=True, read_only=True)

    class Meta:
        model = CadenceSchedule
        fields = [
            "id",
            "template",
            "cadence",
            "interval",
            "ordinal",
            "weekday",
            "start_date",
            "end_date",
            "name_pattern",
            "pattern",
            "description",
            "paused",
            "last_run_at",
            "last_error",
            "made_trains",
            "created_at",
        ]
        read_only_fields = fields

    def get_description(self, schedule) -> str:
        return planning.describe_schedule(schedule)


class ScheduleWriteSerializer(serializers.Serializer):
    cadence = serializers.ChoiceField(choices=Cadence.choices)
    interval = serializers.IntegerField(min_value=1, max_value=52, required=False, default=1)
    ordinal = serializers.ChoiceField(
        choices=[1, 2, 3, 4, -1], required=False, allow_null=True, help_text="-1: the last."
    )
    weekday = serializers.IntegerField(
        min_value=0, max_value=6, required=False, allow_null=True, help_text="0 Monday … 6 Sunday."
    )
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)
    name_pattern = serializers.CharField(
        max_length=120, required=False, allow_blank=True, help_text="Empty: the template's."
    )
