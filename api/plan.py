"""The API of re-planning: move dates, baselines, scope since the baseline, the health
override. The same services and access rules as the pages (trains/views/plan.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers as s
from api.views import _train_detail, answers
from trains import services
from trains.access import get_train_for_user
from trains.choices import Health, PhaseKind
from trains.selectors.plan import baselines, scope_since_baseline


class PlanMoveSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)
    phase_ends = serializers.DictField(
        child=serializers.DateField(allow_null=True),
        required=False,
        help_text='Phase kind → its new planned end, e.g. {"construction": "2027-02-01"}.',
    )
    milestones = serializers.DictField(
        child=serializers.DateField(),
        required=False,
        help_text="Milestone id → its new due date.",
    )

    def validate_phase_ends(self, value):
        unknown = sorted(set(value) - set(PhaseKind.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown phases: {', '.join(unknown)}.")
        return value

    def validate_milestones(self, value):
        try:
            return {int(k): v for k, v in value.items()}
        except ValueError:
            raise serializers.ValidationError("Milestones are named by their id.") from None


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class BaselineSerializer(serializers.Serializer):
    number = serializers.IntegerField(source="baseline.number")
    taken_at = serializers.DateTimeField(source="baseline.taken_at")
    taken_by = serializers.CharField(help_text="Empty: the system.")
    reason = serializers.CharField(source="baseline.reason")
    start_date = serializers.DateField(source="baseline.start_date")
    end_date = serializers.DateField(source="baseline.end_date")
    phases = serializers.DictField(
        source="baseline.phases",
        child=serializers.DateField(allow_null=True),
        help_text="Phase kind → its planned end in this baseline.",
    )
    milestones = serializers.ListField(child=serializers.DictField(), source="baseline.milestones")
    releases = serializers.ListField(child=serializers.DictField(), source="baseline.releases")


class ScopeChangeSerializer(serializers.Serializer):
    change = serializers.ChoiceField(choices=["added", "removed", "freed"])
    release = serializers.CharField()
    who = serializers.CharField()
    when = serializers.DateTimeField()
    reason = serializers.CharField()


class HealthOverrideSetSerializer(serializers.Serializer):
    health = serializers.ChoiceField(choices=Health.choices)
    until = serializers.DateField(help_text="The override lapses on this day.")
    reason = serializers.CharField(max_length=500)


class PlanView(APIView):
    @extend_schema(
        summary="Move the window, phase ends and milestones, with a reason",
        request=PlanMoveSerializer,
        responses=answers({200: s.TrainDetailSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        data = PlanMoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        services.plan_move(
            train=train,
            by=request.user,
            reason=v["reason"],
            start_date=v.get("start_date"),
            end_date=v.get("end_date"),
            phase_ends=v.get("phase_ends"),
            milestone_dues=v.get("milestones"),
        )
        return Response(_train_detail(request, pk))


class BaselinesView(APIView):
    @extend_schema(
        summary="Every baseline of the train, newest first",
        responses=answers({200: BaselineSerializer(many=True)}, 404),
    )
    def get(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        return Response(BaselineSerializer(baselines(train), many=True).data)

    @extend_schema(
        summary="Take a new baseline on purpose (the plan as it stands), with a reason",
        request=ReasonSerializer,
        responses=answers({201: BaselineSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.baseline_take(train=train, by=request.user, reason=data.validated_data["reason"])
        latest = baselines(train)[0]
        return Response(BaselineSerializer(latest).data, status=status.HTTP_201_CREATED)


class ScopeSinceBaselineView(APIView):
    @extend_schema(
        summary="Releases added and removed since the latest baseline, with who and why",
        responses=answers({200: ScopeChangeSerializer(many=True)}, 404),
    )
    def get(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        return Response(ScopeChangeSerializer(scope_since_baseline(train), many=True).data)


class HealthOverrideView(APIView):
    @extend_schema(
        summary="Override the train's health until a day, with a reason",
        request=HealthOverrideSetSerializer,
        responses=answers({200: s.TrainDetailSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        data = HealthOverrideSetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.health_override_set(train=train, by=request.user, **data.validated_data)
        return Response(_train_detail(request, pk))

    @extend_schema(
        summary="Clear the health override: the computed health shows again",
        responses=answers({200: s.TrainDetailSerializer}, 403, 404, 409),
    )
    def delete(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        services.health_override_clear(
            train=train, by=request.user, reason=str(request.data.get("reason", ""))
        )
        return Response(_train_detail(request, pk))
