"""What the API reads and writes. Reads describe objects; writes only validate the
shape of the input, then the views hand it to the services."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.models import WebhookAttempt, WebhookDelivery, WebhookEventKind
from applications.models import (
    RELEASE_TRANSITIONS,
    Application,
    ApplicationRelease,
    ReleaseState,
    Turnover,
    TurnoverState,
)
from approvals.models import ApprovalRequirement, Gate
from releasemgr.ids import MAX_ID, parse_id
from releasemgr.people import name_of
from trains import access, workflow
from trains.choices import Delivery, Health, NotificationKind, PhaseKind, TrainState, TrainType
from trains.models import (
    Deployment,
    ExitCriterion,
    Milestone,
    Phase,
    ReleaseTrain,
    TrainEvent,
)
from trains.status import train_status

User = get_user_model()
TEXT_MAX = 10_000


def active_users():
    return User.objects.filter(is_active=True)


# Ids (releasemgr.ids): refused before any query when no row can have them ----------------


def _api_id(value) -> int:
    try:
        return parse_id(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages, code="invalid_id") from None


class IdField(serializers.IntegerField):
    """An object's id in a JSON body."""

    def __init__(self, **kwargs) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)  # for the schema

    def to_internal_value(self, data) -> int:
        return _api_id(data)


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """PrimaryKeyRelatedField whose id is checked before the query."""

    def to_internal_value(self, data):
        return super().to_internal_value(_api_id(data))


# Errors (for the schema) -------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words a person can act on.")


class UnmetSerializer(ErrorSerializer):
    unmet = serializers.ListField(
        child=serializers.CharField(), help_text="Each condition that does not hold yet."
    )


# People ---------------------------------------------------------------------------


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return name_of(user)


# Trains ---------------------------------------------------------------------------


class PhaseSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Phase
        fields = ["kind", "label", "planned_end", "actual_start", "actual_end"]


class TrainSerializer(serializers.ModelSerializer):
    type = serializers.ChoiceField(source="train_type", choices=TrainType.choices)
    state = serializers.ChoiceField(choices=TrainState.choices, read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    primary_manager = UserSummarySerializer(read_only=True)
    release_engineers = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    phases = PhaseSerializer(many=True, read_only=True)
    web_url = serializers.SerializerMethodField()

    class Meta:
        model = ReleaseTrain
        fields = [
            "id",
            "name",
            "purpose",
            "type",
            "state",
            "state_label",
            "primary_manager",
            "release_engineers",
            "start_date",
            "end_date",
            "phases",
            "development_round",
            "executive_round",
            "gate_opened_at",
            "created_at",
            "updated_at",
            "closed_at",
            "web_url",
        ]
        read_only_fields = fields

    def get_web_url(self, train: ReleaseTrain) -> str:
        return f"/trains/{train.pk}/"


class StepSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    needs_reason = serializers.BooleanField()
    allowed = serializers.BooleanField(help_text="Whether you may take this step.")
    possible_now = serializers.BooleanField(help_text="Whether the train's state allows it.")
    unmet = serializers.ListField(child=serializers.CharField())
    endpoint = serializers.CharField()


def train_steps(train: ReleaseTrain, user) -> list[dict]:
    """The steps offered on this train, whether this person may take them now, and what
    blocks them: every offered step of the state table, with `available_steps`' answer."""
    available = {o.name: o for o in workflow.available_steps(train, user)}
    steps = []
    for step in workflow.STEPS.values():
        if not step.offered:
            continue
        possible = workflow.possible(train, step.name)
        option = available.get(step.name)  # possible now, and this person may take it
        steps.append(
            {
                "name": step.name,
                "label": step.label,
                "needs_reason": step.needs_reason,
                "allowed": option is not None or access.may(user, step.action, train),
                "possible_now": possible,
                "unmet": option.unmet
                if option
                else (workflow.unmet(train, step.name) if possible else []),
                "endpoint": (
                    f"/api/v1/trains/{train.pk}/deployments/"
                    if step.via == workflow.Via.DEPLOYMENT
                    else f"/api/v1/trains/{train.pk}/transitions/{step.name}/"
                ),
            }
        )
    return steps


class CriteriaCountSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=PhaseKind.choices)
    met = serializers.IntegerField(help_text="Required exit criteria met.")
    total = serializers.IntegerField(help_text="Required exit criteria.")
    unmet = serializers.ListField(child=serializers.CharField())


class WaitingSerializer(serializers.Serializer):
    what = serializers.CharField()
    who = serializers.ListField(
        child=serializers.CharField(), help_text="Names of the people or groups it waits on."
    )


class RequirementCountSerializer(serializers.Serializer):
    requirement = serializers.IntegerField(source="pk")
    approver = serializers.CharField(source="label")
    approvals = serializers.IntegerField()
    rejections = serializers.IntegerField()
    needed = serializers.IntegerField()


class GateCountSerializer(serializers.Serializer):
    gate = serializers.ChoiceField(choices=Gate.choices)
    round = serializers.IntegerField()
    approvals = serializers.IntegerField(help_text="Approvals counted towards the quorum.")
    needed = serializers.IntegerField()
    requirements = RequirementCountSerializer(many=True)


class RefusalSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="'cancelled' or the gate's rejection.")
    transition = serializers.CharField()
    reason = serializers.CharField()
    by = serializers.CharField()
    at = serializers.DateTimeField()


class HealthOverrideSerializer(serializers.Serializer):
    health = serializers.ChoiceField(choices=Health.choices)
    reason = serializers.CharField()
    by = serializers.CharField()
    at = serializers.DateTimeField()
    until = serializers.DateField(help_text="The override lapses on this day.")


class PhaseSlipSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=PhaseKind.choices)
    baseline = serializers.DateField(allow_null=True, help_text="Its planned end in the baseline.")
    planned = serializers.DateField(allow_null=True, help_text="Its planned end now.")
    days = serializers.IntegerField(allow_null=True, help_text="Later than the baseline by.")


class SlipSerializer(serializers.Serializer):
    baseline = serializers.IntegerField(help_text="The number of the baseline measured against.")
    taken_at = serializers.DateTimeField()
    phases = PhaseSlipSerializer(many=True)
    total = serializers.IntegerField(help_text="Days the delivery moved since the baseline.")


class StatusSerializer(serializers.Serializer):
    """trains.status.TrainStatus: the same numbers as the train's page and the list."""

    health = serializers.ChoiceField(
        choices=Health.choices,
        allow_null=True,
        help_text="Red, amber or green (none once closed or cancelled): the override "
        "while it holds, else computed.",
    )
    computed_health = serializers.ChoiceField(choices=Health.choices, allow_null=True)
    health_reasons = serializers.ListField(
        child=serializers.CharField(), help_text="Why the computed health is what it is."
    )
    override = HealthOverrideSerializer(allow_null=True)
    slip = SlipSerializer(allow_null=True, help_text="Against the latest baseline.")

    state = serializers.ChoiceField(choices=TrainState.choices)
    phase = serializers.ChoiceField(choices=PhaseKind.choices, allow_null=True)
    next_step = serializers.SerializerMethodField()
    waiting = WaitingSerializer(many=True)
    since = serializers.DateTimeField(allow_null=True)
    deadline = serializers.DateField(allow_null=True)
    overdue = serializers.BooleanField()
    criteria = CriteriaCountSerializer(many=True, source="phases")
    criteria_met = serializers.IntegerField(help_text="Up to the current phase.")
    criteria_total = serializers.IntegerField(help_text="Up to the current phase.")
    gates = GateCountSerializer(many=True)
    releases_total = serializers.IntegerField()
    releases_complete = serializers.IntegerField()
    releases_without_turnover = serializers.IntegerField()
    last_refusal = serializers.SerializerMethodField()
    can_do = serializers.SerializerMethodField(help_text="Steps you may take now.")
    can_decide = serializers.SerializerMethodField(
        help_text="Approval requirements you may decide now."
    )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_next_step(self, status) -> str | None:
        return status.next_step.name if status.next_step else None

    @extend_schema_field(RefusalSerializer(allow_null=True))
    def get_last_refusal(self, status) -> dict | None:
        refusal = status.last_refusal
        if refusal is None:
            return None
        return {
            "kind": status.refusal_label,
            "transition": refusal.transition,
            "reason": refusal.reason,
            "by": refusal.by,
            "at": refusal.at,
        }

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_can_do(self, status) -> list[str]:
        return [o.name for o in status.options if o.enabled]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_can_decide(self, status) -> list[int]:
        return [r.pk for r in status.decidable]


class TrainDetailSerializer(TrainSerializer):
    steps = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta(TrainSerializer.Meta):
        fields = [*TrainSerializer.Meta.fields, "steps", "status"]
        read_only_fields = fields

    @extend_schema_field(StepSerializer(many=True))
    def get_steps(self, train: ReleaseTrain) -> list[dict]:
        return train_steps(train, self.context["request"].user)

    @extend_schema_field(StatusSerializer)
    def get_status(self, train: ReleaseTrain) -> dict:
        return StatusSerializer(train_status(train, self.context["request"].user)).data


class PhaseEndsSerializer(serializers.Serializer):
    scoping = serializers.DateField(required=False, allow_null=True)
    construction = serializers.DateField(required=False, allow_null=True)
    verification = serializers.DateField(required=False, allow_null=True)
    deployment = serializers.DateField(required=False, allow_null=True)


class TrainWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    purpose = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, required=False)
    type = serializers.ChoiceField(choices=TrainType.choices)
    primary_manager = IdRelatedField(
        queryset=active_users(), required=False, help_text="A release manager; default: you."
    )
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    phase_ends = PhaseEndsSerializer(
        required=False, help_text="Planned end date of each phase (inside the train's dates)."
    )
    release_engineers = IdRelatedField(queryset=active_users(), many=True, required=False)

    def service_arguments(self) -> dict:
        """The validated input as the services' keyword arguments."""
        data = dict(self.validated_data)
        if "type" in data:
            data["train_type"] = data.pop("type")
        if "phase_ends" in data:
            data["phase_ends"] = {PhaseKind(k): v for k, v in data["phase_ends"].items()}
        return data


class EventSerializer(serializers.ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = TrainEvent
        fields = [
            "id",
            "kind",
            "actor",
            "created_at",
            "from_state",
            "to_state",
            "transition",
            "message",
            "data",
        ]
        read_only_fields = fields


class TransitionSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=TEXT_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="Needed to cancel.",
    )
    expected_state = serializers.ChoiceField(
        choices=TrainState.choices,
        required=False,
        help_text="Refuse with 409 if the train is no longer in this state.",
    )


# Exit criteria ------------------------------------------------------------------------


class CriterionSerializer(serializers.ModelSerializer):
    phase_label = serializers.CharField(source="get_phase_display", read_only=True)
    automatic = serializers.SerializerMethodField()
    met = serializers.BooleanField(source="status_met", read_only=True)
    detail = serializers.CharField(
        source="status_detail", read_only=True, help_text="What is missing, when unmet."
    )
    met_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = ExitCriterion
        fields = [
            "id",
            "phase",
            "phase_label",
            "description",
            "required",
            "rule",
            "automatic",
            "met",
            "detail",
            "met_by",
            "met_at",
            "due_date",
        ]
        read_only_fields = fields

    def get_automatic(self, criterion: ExitCriterion) -> bool:
        return not criterion.is_manual


class CriterionCreateSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=PhaseKind.choices)
    description = serializers.CharField(max_length=200)
    required = serializers.BooleanField(default=True)
    due_date = serializers.DateField(required=False, allow_null=True)


class CriterionRequiredSerializer(serializers.Serializer):
    required = serializers.BooleanField(help_text="true: required; false: optional.")


# Approvals --------------------------------------------------------------------------


class RequirementSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True, allow_null=True)
    group = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    approvals = serializers.IntegerField(read_only=True, help_text="In the current round.")
    rejections = serializers.IntegerField(read_only=True, help_text="In the current round.")

    class Meta:
        model = ApprovalRequirement
        fields = [
            "id",
            "gate",
            "user",
            "group",
            "required_approvals",
            "approver_label",
            "approvals",
            "rejections",
        ]
        read_only_fields = fields


class RequirementCreateSerializer(serializers.Serializer):
    gate = serializers.ChoiceField(choices=Gate.choices)
    user = IdRelatedField(queryset=active_users(), required=False, allow_null=True)
    group = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Group.objects.all(),
        required=False,
        allow_null=True,
        help_text="A group's name, e.g. executives.",
    )
    required_approvals = serializers.IntegerField(min_value=1, max_value=1000, default=1)

    def validate(self, attrs: dict) -> dict:
        if (attrs.get("user") is None) == (attrs.get("group") is None):
            raise serializers.ValidationError("Give either a user or a group, not both.")
        return attrs


class ReleaseMoveSerializer(serializers.Serializer):
    train = IdField(
        help_text="The train to move it to: one you manage, in scoping or construction."
    )
    reason = serializers.CharField(max_length=TEXT_MAX, help_text="Why it misses its train.")
    leave_empty = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Move it even when it is its open train's last release (else 409).",
    )


class DecisionCreateSerializer(serializers.Serializer):
    requirement = IdField(help_text="An approval requirement of this train.")
    approve = serializers.BooleanField()
    comment = serializers.CharField(
        max_length=TEXT_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="Needed to reject.",
    )


class DecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    requirement = serializers.IntegerField(source="requirement_id")
    gate = serializers.CharField(source="requirement.gate")
    round = serializers.IntegerField()
    user = UserSummarySerializer()
    approve = serializers.BooleanField()
    comment = serializers.CharField()
    decided_at = serializers.DateTimeField()
    train_state = serializers.ChoiceField(
        choices=TrainState.choices,
        source="requirement.train.state",
        help_text="The train's state after this decision.",
    )


class DecisionLinkSerializer(serializers.Serializer):
    """What an approval mail's link decides, before it is used."""

    train = serializers.SerializerMethodField()
    requirement = serializers.IntegerField(source="requirement.pk")
    gate = serializers.CharField(source="requirement.gate")
    approver = serializers.CharField(source="requirement.approver_label")
    round = serializers.IntegerField(source="link.round")
    approve = serializers.BooleanField(source="link.approve")
    expires_at = serializers.DateTimeField()

    def get_train(self, check) -> dict:
        return TrainSummarySerializer(check.train).data


class DecisionLinkUseSerializer(serializers.Serializer):
    comment = serializers.CharField(
        max_length=TEXT_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="Needed when the link rejects.",
    )


class TrainSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=TrainState.choices)


class InboxItemSerializer(serializers.Serializer):
    requirement = serializers.IntegerField(source="id")
    gate = serializers.ChoiceField(choices=Gate.choices)
    approver_label = serializers.CharField()
    round = serializers.SerializerMethodField()
    waiting_since = serializers.DateTimeField(source="train.gate_opened_at", allow_null=True)
    train = TrainSummarySerializer()
    decide_at = serializers.SerializerMethodField()

    def get_round(self, requirement: ApprovalRequirement) -> int:
        return requirement.train.round_for(requirement.gate)

    def get_decide_at(self, requirement: ApprovalRequirement) -> str:
        return f"/api/v1/trains/{requirement.train_id}/decisions/"


# Applications, releases, turnovers -------------------------------------------------------


class ApplicationSerializer(serializers.ModelSerializer):
    product_owner = UserSummarySerializer(read_only=True)

    class Meta:
        model = Application
        fields = ["id", "name", "description", "product_owner", "created_at"]
        read_only_fields = fields


class ApplicationCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, default="")
    product_owner = IdRelatedField(
        queryset=active_users(), required=False, help_text="Default: you."
    )


class ApplicationSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ReleaseSerializer(serializers.ModelSerializer):
    application = ApplicationSummarySerializer(read_only=True)
    state = serializers.ChoiceField(choices=ReleaseState.choices, read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    train = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = ApplicationRelease
        fields = [
            "id",
            "application",
            "version",
            "state",
            "state_label",
            "train",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReleaseCreateSerializer(serializers.Serializer):
    application = IdRelatedField(queryset=Application.objects.all())
    version = serializers.CharField(max_length=60)
    notes = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, default="")
    train = IdRelatedField(
        queryset=ReleaseTrain.objects.none(),
        required=False,
        allow_null=True,
        help_text="Put the release on this train at once (you must manage it).",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["train"].queryset = access.trains_visible_to(request.user)


RELEASE_STEP_NAMES = list(RELEASE_TRANSITIONS)


class TurnoverSerializer(serializers.ModelSerializer):
    release = serializers.PrimaryKeyRelatedField(read_only=True)
    release_label = serializers.CharField(source="release.__str__", read_only=True)
    state = serializers.ChoiceField(choices=TurnoverState.choices, read_only=True)
    submitted_by = UserSummarySerializer(read_only=True)
    decided_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Turnover
        fields = [
            "id",
            "release",
            "release_label",
            "description",
            "state",
            "submitted_by",
            "submitted_at",
            "decided_by",
            "decided_at",
            "rejection_reason",
        ]
        read_only_fields = fields


class TurnoverCreateSerializer(serializers.Serializer):
    release = IdRelatedField(queryset=ApplicationRelease.objects.none())
    description = serializers.CharField(max_length=TEXT_MAX)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["release"].queryset = ApplicationRelease.objects.filter(
                train__in=access.trains_visible_to(request.user)
            ).select_related("application")


class TurnoverRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, default="")


# Deployments ------------------------------------------------------------------------


class DeploymentCreateSerializer(serializers.Serializer):
    succeeded = serializers.BooleanField()
    log = serializers.CharField(max_length=100_000, allow_blank=True, default="")
    expected_state = serializers.ChoiceField(
        choices=TrainState.choices,
        required=False,
        help_text="Refuse with 409 if the train is no longer in this state.",
    )


class DeploymentSerializer(serializers.ModelSerializer):
    attempted_by = UserSummarySerializer(read_only=True)
    train_state = serializers.ChoiceField(
        choices=TrainState.choices,
        source="train.state",
        read_only=True,
        help_text="closed when the deployment succeeded.",
    )

    class Meta:
        model = Deployment
        fields = ["id", "train", "train_state", "succeeded", "log", "attempted_by", "attempted_at"]
        read_only_fields = fields


# Milestones ---------------------------------------------------------------------------


class MilestoneSerializer(serializers.ModelSerializer):
    reached_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Milestone
        fields = ["id", "train", "name", "due_date", "reached_at", "reached_by"]
        read_only_fields = fields


class MilestoneCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=Milestone._meta.get_field("name").max_length)
    due_date = serializers.DateField(help_text="Inside the train's dates.")


# Sharing -------------------------------------------------------------------------------

ACCESS_LEVELS = [("view", "View (stakeholder)"), ("manage", "Manage (release manager)")]


class GrantSerializer(serializers.Serializer):
    user = UserSummarySerializer(read_only=True)
    level = serializers.ChoiceField(choices=ACCESS_LEVELS, read_only=True)


class GrantCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, help_text="An active user's user name.")
    level = serializers.ChoiceField(choices=ACCESS_LEVELS, default="view")

    def validate_username(self, value: str):
        user = active_users().filter(username__iexact=value.strip()).first()
        if user is None:
            raise serializers.ValidationError("No active user has that user name.")
        return user


# Releases on a train ---------------------------------------------------------------------


class TrainReleaseAddSerializer(serializers.Serializer):
    release = IdField(help_text="An application release on no train yet.")


class ReleaseRemoveSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=TEXT_MAX, help_text="Why; kept in the history.")


# Webhooks ------------------------------------------------------------------------------


class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.URLField(read_only=True)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventKind.choices), read_only=True
    )
    train = serializers.IntegerField(source="train_id", read_only=True, allow_null=True)
    active = serializers.BooleanField(read_only=True)
    secret = serializers.CharField(
        read_only=True,
        help_text="Verify each delivery's X-Releasemgr-Signature with it (HMAC-SHA256).",
    )
    created_at = serializers.DateTimeField(read_only=True)


class WebhookCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500, help_text="http(s), on a public address.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventKind.choices), allow_empty=False
    )
    train = IdRelatedField(
        queryset=ReleaseTrain.objects.none(),
        required=False,
        allow_null=True,
        help_text="Only this train's events; leave out for every train you may see.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["train"].queryset = access.trains_visible_to(request.user)


class WebhookActiveSerializer(serializers.Serializer):
    active = serializers.BooleanField(help_text="false pauses the webhook; true turns it on.")


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "attempted_at", "status_code", "error", "response_excerpt"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    attempts = WebhookAttemptSerializer(source="attempt_log", many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "delivery_id",
            "kind",
            "status",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "attempts",
        ]
        read_only_fields = fields


class WebhookDetailSerializer(WebhookSerializer):
    deliveries = WebhookDeliverySerializer(
        source="recent_deliveries", many=True, read_only=True, help_text="The latest 50."
    )


# Notification settings ---------------------------------------------------------------------


NotificationPreferencesSerializer = type(
    "NotificationPreferencesSerializer",
    (serializers.Serializer,),
    {
        kind.value: serializers.ChoiceField(
            choices=Delivery.choices, required=False, help_text=kind.label
        )
        for kind in NotificationKind
    },
)
# Metrics (trains.selectors.metrics): plain data, described for the schema ---------------------


class SpreadSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    median = serializers.FloatField(help_text="Days.")
    p90 = serializers.FloatField(help_text="Days: the 90th percentile.")
    mean = serializers.FloatField(help_text="Days.")
    largest = serializers.FloatField(help_text="Days.")


class KeyedSpreadSerializer(SpreadSerializer):
    key = serializers.CharField(help_text="The phase kind, gate or train type; '*' for all.")


class MonthCountSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="The month's first day.")
    total = serializers.IntegerField()
    hits = serializers.IntegerField()


class KeyedMonthCountSerializer(MonthCountSerializer):
    key = serializers.CharField()


class ApproverWaitSerializer(serializers.Serializer):
    gate = serializers.ChoiceField(choices=Gate.choices)
    approver = serializers.CharField(help_text="A person, or 'group <name>'.")
    decisions = serializers.IntegerField()
    mean_days = serializers.FloatField()
    longest_days = serializers.FloatField()


class WordCountSerializer(serializers.Serializer):
    gate = serializers.ChoiceField(choices=Gate.choices)
    word = serializers.CharField()
    count = serializers.IntegerField(help_text="How many rejections' reasons use it.")


class MetricsSerializer(serializers.Serializer):
    first = serializers.DateField(help_text="The period's first day.")
    last = serializers.DateField(help_text="The period's last day (included).")
    computed_at = serializers.DateTimeField(
        help_text="When the figures were computed (see the fresh parameter)."
    )
    on_time = KeyedMonthCountSerializer(
        many=True,
        help_text="Per phase kind (key) and month: phases ended (total), on time (hits).",
    )
    slip = KeyedSpreadSerializer(many=True, help_text="Days late per phase kind.")
    approval_wait = KeyedSpreadSerializer(
        many=True, help_text="Days from requesting a gate to its decision, per gate."
    )
    approvers = ApproverWaitSerializer(many=True, help_text="The longest waits first.")
    lead_time = KeyedSpreadSerializer(
        many=True, help_text="Days from submitted to closed, per train type."
    )
    deployments = MonthCountSerializer(
        many=True, help_text="Per month: attempts (total), failed attempts (hits)."
    )
    change_failure_rate = serializers.FloatField(allow_null=True)
    deployments_per_month = serializers.FloatField(help_text="Successful deployments.")
    time_to_restore = SpreadSerializer(allow_null=True, help_text="Days from a failure to success.")
    rejections = KeyedMonthCountSerializer(many=True, help_text="Per gate (key) and month.")
    rejection_words = WordCountSerializer(many=True)
    emergency_share = MonthCountSerializer(
        many=True, help_text="Per month: trains closed (total), emergency trains (hits)."
    )


def metrics_data(m) -> dict:
    """The metrics page's figures as plain data (`MetricsSerializer`)."""

    def spread(s, key=None) -> dict:
        data = {
            "count": s.count,
            "median": s.median,
            "p90": s.p90,
            "mean": s.mean,
            "largest": s.largest,
        }
        return data if key is None else {"key": key, **data}

    def spreads(found: dict, overall) -> list[dict]:
        rows = [spread(s, key) for key, s in found.items()]
        return rows + ([spread(overall, "*")] if overall else [])

    def counts(found: dict) -> list[dict]:
        return [{"month": c.month, "total": c.total, "hits": c.hits} for c in found.values()]

    def keyed(found: dict) -> list[dict]:
        return [{"key": key, **row} for key, months in found.items() for row in counts(months)]

    attempts, failures = m.deployment_total()
    return {
        "first": m.period.first,
        "last": m.period.last,
        "computed_at": m.computed_at,
        "on_time": keyed(m.on_time),
        "slip": spreads(m.slip, m.overall.get("slip")),
        "approval_wait": spreads(m.approval_wait, m.overall.get("wait")),
        "approvers": [
            {
                "gate": a.gate,
                "approver": a.name,
                "decisions": a.decisions,
                "mean_days": a.mean_days,
                "longest_days": a.longest_days,
            }
            for a in m.approvers
        ],
        "lead_time": spreads(m.lead_time, m.overall.get("lead")),
        "deployments": counts(m.deployments),
        "change_failure_rate": failures / attempts if attempts else None,
        "deployments_per_month": (attempts - failures) / len(m.months) if m.months else 0.0,
        "time_to_restore": spread(m.restore) if m.restore else None,
        "rejections": keyed(m.rejections),
        "rejection_words": [
            {"gate": gate, "word": word, "count": n}
            for gate, words in m.rejection_words.items()
            for word, n in words
        ],
        "emergency_share": counts(m.closed),
    }


class FreezeWindowSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=120)
    start = serializers.DateField(help_text="The first day no train deploys.")
    end = serializers.DateField(help_text="The last day no train deploys.")
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    created_by = serializers.CharField(source="created_by.username", read_only=True)


class FreezeRemoveSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=TEXT_MAX, help_text="Why it is removed.")
