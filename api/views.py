"""The REST API, v1. Every endpoint finds objects through trains.access (404 for what
the caller may not see) and changes them only through the services, so a token can do
exactly what its person can do in the browser. Errors: api/exceptions.py."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api import selectors as api_selectors
from api import serializers as s
from api import services as api_services
from api.filters import ApiTrainFilter, ReleaseFilter
from api.models import WebhookDelivery, WebhookSubscription
from api.selectors import grants_of
from applications import services as application_services
from applications.models import RELEASE_TRANSITIONS, ApplicationRelease, Turnover
from approvals.models import ApprovalRequirement
from releasemgr import broker, roles
from releasemgr.exceptions import NotAllowed
from trains import services, workflow
from trains.access import (
    MANAGE,
    can_manage,
    get_train_for_user,
    may_keep_freezes,
    trains_visible_to,
)
from trains.choices import NotificationKind, TrainState, TrainType
from trains.facts import facts_of, with_facts
from trains.models import ExitCriterion, FreezeWindow, Milestone, ReleaseTrain
from trains.notifications import selectors as notification_selectors
from trains.notifications import services as notification_services
from trains.selectors import applications_for, pending_requirements
from trains.selectors.metrics import SNAPSHOT_SECONDS, metrics_snapshot
from trains.services import freezes as freeze_services
from trains.services.links import LinkRefused, decision_link_check, decision_link_use
from trains.status import train_status
from trains.views.insight import metrics_scope, require_metrics

logger = logging.getLogger(__name__)

_ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Bad input: errors per field."),
    401: OpenApiResponse(s.ErrorSerializer, description="No valid token or session."),
    403: OpenApiResponse(s.ErrorSerializer, description="You may see it but not do this."),
    404: OpenApiResponse(s.ErrorSerializer, description="No such object, or not yours to see."),
    409: OpenApiResponse(s.ErrorSerializer, description="Wrong state, or someone moved first."),
    410: OpenApiResponse(s.ErrorSerializer, description="Gone: a link expired or used."),
    422: OpenApiResponse(s.UnmetSerializer, description="Conditions not met yet."),
}


def answers(ok: dict, *codes: int) -> dict:
    """The schema's responses: the successful ones and the listed errors (401 always)."""
    return {**ok, **{code: _ERRORS[code] for code in sorted({401, *codes})}}


def _train_queryset(user) -> QuerySet[ReleaseTrain]:
    return (
        trains_visible_to(user)
        .select_related("primary_manager")
        .prefetch_related("phases", "release_engineers")
    )


def _train_detail(request, pk: int) -> dict:
    """One train with its steps and status: the train, its facts and the caller's rights
    in one query, then its phases and engineers."""
    train = get_train_for_user(
        request.user,
        pk,
        also=sorted({step.action for step in workflow.STEPS.values() if step.offered}),
        queryset=with_facts(ReleaseTrain.objects.prefetch_related("phases", "release_engineers")),
    )
    return s.TrainDetailSerializer(train, context={"request": request}).data


@csrf_exempt  # it changes nothing; a POST must get this JSON, not a CSRF page
def not_found(request: HttpRequest) -> JsonResponse:
    """Unknown paths under /api/ answer JSON, like every other API error."""
    return JsonResponse(
        {"detail": "No such API endpoint (or an id that is not a whole number). See /api/docs/."},
        status=404,
    )


# Trains ---------------------------------------------------------------------------


class TrainListView(generics.ListCreateAPIView):
    serializer_class = s.TrainSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ApiTrainFilter

    def get_queryset(self) -> QuerySet[ReleaseTrain]:
        return _train_queryset(self.request.user).order_by("start_date", "id")

    @extend_schema(
        summary="Trains you may see",
        responses=answers({200: s.TrainSerializer(many=True)}, 400, 404),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Submit a train (release managers)",
        request=s.TrainWriteSerializer,
        responses=answers({201: s.TrainDetailSerializer}, 400, 403),
    )
    def post(self, request, *args, **kwargs):
        data = s.TrainWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        arguments = data.service_arguments()
        arguments.setdefault("primary_manager", request.user)
        train = services.train_create(by=request.user, **arguments)
        return Response(_train_detail(request, train.pk), status=status.HTTP_201_CREATED)


class TrainDetailView(APIView):
    @extend_schema(
        summary="One train, with the steps you can take next",
        responses=answers({200: s.TrainDetailSerializer}, 404),
    )
    def get(self, request, pk: int) -> Response:
        return Response(_train_detail(request, pk))

    @extend_schema(
        summary="Change a train's details or schedule (its release managers)",
        request=s.TrainWriteSerializer(partial=True),
        responses=answers({200: s.TrainDetailSerializer}, 400, 403, 404, 409),
    )
    def patch(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        data = s.TrainWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.train_update(train=train, by=request.user, **data.service_arguments())
        return Response(_train_detail(request, pk))


class TrainEventsView(generics.ListAPIView):
    serializer_class = s.EventSerializer

    def get_queryset(self):
        train = get_train_for_user(self.request.user, self.kwargs["pk"])
        return train.events.select_related("actor").order_by("-created_at", "-id")

    @extend_schema(
        summary="The train's history, newest first",
        responses=answers({200: s.EventSerializer(many=True)}, 404),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class TrainTransitionView(APIView):
    @extend_schema(
        summary="Take a step: start_construction, request_development_approval, "
        "request_executive_approval or cancel",
        parameters=[
            OpenApiParameter("name", str, OpenApiParameter.PATH, enum=list(workflow.MANUAL_STEPS))
        ],
        request=s.TransitionSerializer,
        responses=answers({200: s.TrainDetailSerializer}, 400, 403, 404, 409, 422),
    )
    def post(self, request, pk: int, name: str) -> Response:
        train = get_train_for_user(request.user, pk)
        if name not in workflow.MANUAL_STEPS:
            hint = {
                "deploy": f"record deployments at /api/v1/trains/{pk}/deployments/",
            }.get(name, f"approvals and rejections are decisions: /api/v1/trains/{pk}/decisions/")
            if name not in workflow.STEPS:
                hint = "the steps taken here are " + ", ".join(workflow.MANUAL_STEPS)
            raise Http404(f"No step '{name}' here; {hint}.")
        data = s.TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.train_transition(
            train=train,
            name=name,
            by=request.user,
            reason=data.validated_data["reason"],
            shown_state=data.validated_data.get("expected_state", ""),
        )
        return Response(_train_detail(request, pk))


class DeploymentsView(APIView):
    @extend_schema(
        summary="Record a deployment attempt (success closes the train)",
        request=s.DeploymentCreateSerializer,
        responses=answers({201: s.DeploymentSerializer}, 400, 403, 404, 409, 422),
    )
    def post(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        data = s.DeploymentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        deployment = services.train_deploy(
            train=train,
            by=request.user,
            succeeded=given["succeeded"],
            log=given["log"],
            shown_state=given.get("expected_state", ""),
        )
        deployment.train.refresh_from_db(fields=["state"])
        return Response(s.DeploymentSerializer(deployment).data, status=status.HTTP_201_CREATED)


# Exit criteria ------------------------------------------------------------------------


def _with_status(train: ReleaseTrain, criteria: list[ExitCriterion]) -> list[ExitCriterion]:
    facts = facts_of(train)
    for criterion in criteria:
        met, detail = workflow.criterion_status(criterion, facts)
        criterion.status_met, criterion.status_detail = met, "" if met else detail
    return criteria


class CriteriaView(APIView):
    @extend_schema(
        summary="The train's exit criteria, met or not",
        responses=answers({200: s.CriterionSerializer(many=True)}, 404),
    )
    def get(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        criteria = _with_status(train, list(train.criteria.select_related("met_by")))
        return Response(s.CriterionSerializer(criteria, many=True).data)

    @extend_schema(
        summary="Add an exit criterion (its release managers)",
        request=s.CriterionCreateSerializer,
        responses=answers({201: s.CriterionSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        data = s.CriterionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        criterion = services.criterion_add(train=train, by=request.user, **data.validated_data)
        (criterion,) = _with_status(train, [criterion])
        return Response(s.CriterionSerializer(criterion).data, status=status.HTTP_201_CREATED)


def _visible_criterion(user, pk: int) -> ExitCriterion:
    criterion = (
        ExitCriterion.objects.filter(train__in=trains_visible_to(user))
        .select_related("train")
        .filter(pk=pk)
        .first()
    )
    if criterion is None:
        raise Http404("No such exit criterion.")
    return criterion


class CriterionCheckView(APIView):
    met = True

    @extend_schema(
        summary="Tick (check) or untick (uncheck) a manual exit criterion",
        request=None,
        responses=answers({200: s.CriterionSerializer}, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        criterion = _visible_criterion(request.user, pk)
        criterion = services.criterion_set_met(criterion=criterion, by=request.user, met=self.met)
        (criterion,) = _with_status(criterion.train, [criterion])
        return Response(s.CriterionSerializer(criterion).data)


class CriterionRequiredView(APIView):
    @extend_schema(
        summary="Make an exit criterion required or optional, while its phase is not over "
        "(its release managers)",
        request=s.CriterionRequiredSerializer,
        responses=answers({200: s.CriterionSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        criterion = _visible_criterion(request.user, pk)
        # Permission before input: only its managers get to hear the input is wrong.
        criterion.train = get_train_for_user(request.user, criterion.train_id, need=MANAGE)
        data = s.CriterionRequiredSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        criterion = services.criterion_set_required(
            criterion=criterion, by=request.user, required=data.validated_data["required"]
        )
        (criterion,) = _with_status(criterion.train, [criterion])
        return Response(s.CriterionSerializer(criterion).data)


class CriterionView(APIView):
    @extend_schema(
        summary="Remove a manual exit criterion while its phase is not over (its release "
        "managers); automatic ones can only be made optional",
        request=None,
        responses=answers({204: None}, 403, 404, 409),
    )
    def delete(self, request, pk: int) -> Response:
        criterion = _visible_criterion(request.user, pk)
        services.criterion_remove(criterion=criterion, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Approvals --------------------------------------------------------------------------


def _requirements_with_counts(train: ReleaseTrain) -> list[ApprovalRequirement]:
    """The requirements with their current round's counts, as train_status has them."""
    counted = {r.pk: r for gate in train_status(train).gates for r in gate.requirements}
    requirements = list(
        ApprovalRequirement.objects.filter(train=train).select_related("user", "group")
    )
    for requirement in requirements:
        requirement.approvals = counted[requirement.pk].approvals
        requirement.rejections = counted[requirement.pk].rejections
    return requirements


class RequirementsView(APIView):
    @extend_schema(
        summary="Who must approve at each gate, and the current round's count",
        responses=answers({200: s.RequirementSerializer(many=True)}, 404),
    )
    def get(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        data = s.RequirementSerializer(_requirements_with_counts(train), many=True).data
        return Response(data)

    @extend_schema(
        summary="Add an approval requirement (in scoping, its release managers)",
        request=s.RequirementCreateSerializer,
        responses=answers({201: s.RequirementSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        data = s.RequirementCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        requirement = services.requirement_add(train=train, by=request.user, **data.validated_data)
        requirement.approvals = requirement.rejections = 0
        return Response(s.RequirementSerializer(requirement).data, status=status.HTTP_201_CREATED)


class RequirementView(APIView):
    @extend_schema(
        summary="Remove an approval requirement (in scoping, its release managers)",
        request=None,
        responses=answers({204: None}, 403, 404, 409),
    )
    def delete(self, request, pk: int) -> Response:
        requirement = (
            ApprovalRequirement.objects.filter(train__in=trains_visible_to(request.user), pk=pk)
            .select_related("train", "user", "group")
            .first()
        )
        if requirement is None:
            raise Http404("No such approval requirement.")
        services.requirement_remove(requirement=requirement, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DecisionsView(APIView):
    @extend_schema(
        summary="Approve or reject at the gate the train is waiting at",
        request=s.DecisionCreateSerializer,
        responses=answers({201: s.DecisionSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        data = s.DecisionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        requirement = (
            ApprovalRequirement.objects.filter(train=train, pk=fields["requirement"])
            .select_related("train", "user", "group")
            .first()
        )
        if requirement is None:
            return Response(
                {"requirement": ["No such approval requirement on this train."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        decision = services.decision_record(
            requirement=requirement,
            by=request.user,
            approve=fields["approve"],
            comment=fields["comment"],
        )
        decision.requirement.train.refresh_from_db(fields=["state"])
        return Response(s.DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


class DecisionLinkView(APIView):
    """The Approve and Reject links of an approval-request mail, for a script: the token
    is the last part of the link's path. Only the link's approver may use it here."""

    @staticmethod
    def _refused(refusal: LinkRefused) -> Response:
        return Response({"detail": str(refusal), "title": refusal.title}, status=refusal.status)

    @extend_schema(
        summary="What an e-mail's approve or reject link decides (changes nothing)",
        responses=answers({200: s.DecisionLinkSerializer}, 400, 403, 404, 409, 410),
    )
    def get(self, request, token: str) -> Response:
        try:
            check = decision_link_check(token=token, signed_in=request.user)
        except LinkRefused as refusal:
            return self._refused(refusal)
        return Response(s.DecisionLinkSerializer(check).data)

    @extend_schema(
        summary="Decide with an e-mail's approve or reject link (once; rejecting needs a comment)",
        request=s.DecisionLinkUseSerializer,
        responses=answers({201: s.DecisionSerializer}, 400, 403, 404, 409, 410),
    )
    def post(self, request, token: str) -> Response:
        data = s.DecisionLinkUseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            decision = decision_link_use(
                token=token, signed_in=request.user, comment=data.validated_data["comment"]
            )
        except LinkRefused as refusal:
            return self._refused(refusal)
        decision.requirement.train.refresh_from_db(fields=["state"])
        return Response(s.DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


class InboxView(generics.ListAPIView):
    serializer_class = s.InboxItemSerializer

    def get_queryset(self):
        return pending_requirements(user=self.request.user).select_related("train", "user", "group")

    @extend_schema(
        summary="Approval requirements waiting for your decision",
        responses=answers({200: s.InboxItemSerializer(many=True)}, 404),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# Applications, releases, turnovers -------------------------------------------------------


class ApplicationsView(generics.ListCreateAPIView):
    serializer_class = s.ApplicationSerializer

    def get_queryset(self):
        # The same rule as the applications page: managers and engineers see every
        # application, product owners their own, everyone else none.
        return applications_for(user=self.request.user)

    @extend_schema(
        summary="Applications", responses=answers({200: s.ApplicationSerializer(many=True)}, 404)
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Register an application (release managers, product owners)",
        request=s.ApplicationCreateSerializer,
        responses=answers({201: s.ApplicationSerializer}, 400, 403),
    )
    def post(self, request, *args, **kwargs):
        data = s.ApplicationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        application = application_services.application_create(
            by=request.user,
            name=fields["name"],
            description=fields["description"],
            product_owner=fields.get("product_owner", request.user),
        )
        return Response(s.ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


def visible_releases(user) -> QuerySet[ApplicationRelease]:
    """Releases on trains the user may see, and releases on no train yet of the
    applications the user may see (as on the applications page)."""
    return ApplicationRelease.objects.filter(
        Q(train__isnull=True, application__in=applications_for(user=user))
        | Q(train__in=trains_visible_to(user))
    ).select_related("application")


class ReleasesView(generics.ListCreateAPIView):
    serializer_class = s.ReleaseSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ReleaseFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return ApplicationRelease.objects.none()
        return visible_releases(self.request.user).order_by("application__name", "version", "id")

    @extend_schema(
        summary="Application releases (filter by train, application, state)",
        responses=answers({200: s.ReleaseSerializer(many=True)}, 400, 404),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Add a release of an application, optionally straight onto a train",
        request=s.ReleaseCreateSerializer,
        responses=answers({201: s.ReleaseSerializer}, 400, 403, 409),
    )
    def post(self, request, *args, **kwargs):
        data = s.ReleaseCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        with transaction.atomic():  # a release that cannot join its train is not kept
            release = application_services.release_create(
                by=request.user,
                application=fields["application"],
                version=fields["version"],
                notes=fields["notes"],
            )
            if fields.get("train") is not None:
                services.release_add(train=fields["train"], release=release, by=request.user)
                release.refresh_from_db()
        return Response(s.ReleaseSerializer(release).data, status=status.HTTP_201_CREATED)


class ReleaseTransitionView(APIView):
    @extend_schema(
        summary="Move a release through development (its product owner)",
        parameters=[
            OpenApiParameter("name", str, OpenApiParameter.PATH, enum=s.RELEASE_STEP_NAMES)
        ],
        request=None,
        responses=answers({200: s.ReleaseSerializer}, 403, 404, 409),
    )
    def post(self, request, pk: int, name: str) -> Response:
        release = visible_releases(request.user).filter(pk=pk).first()
        if release is None:
            raise Http404("No such application release.")
        if name not in RELEASE_TRANSITIONS:
            raise Http404(
                f"No step '{name}' for a release; the steps are "
                + ", ".join(RELEASE_TRANSITIONS)
                + "."
            )
        release = services.release_transition(release=release, name=name, by=request.user)
        return Response(s.ReleaseSerializer(release).data)


class ReleaseMoveView(APIView):
    @extend_schema(
        summary="Move a release to another train, keeping its state and turnovers "
        "(the release managers of both trains)",
        request=s.ReleaseMoveSerializer,
        responses=answers({200: s.ReleaseSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        release = visible_releases(request.user).filter(pk=pk).first()
        if release is None:
            raise Http404("No such application release.")
        # Permission before input: only its train's managers hear what the body lacks.
        if release.train_id is not None and not can_manage(request.user, release.train):
            raise NotAllowed("Only the train's release managers move its application releases.")
        data = s.ReleaseMoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        target = trains_visible_to(request.user).filter(pk=fields["train"]).first()
        if target is None:
            return Response(
                {"train": ["No such train, or not one you may see."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        release = services.release_move(
            release=release,
            to_train=target,
            by=request.user,
            reason=fields["reason"],
            leave_empty=fields["leave_empty"],
        )
        return Response(s.ReleaseSerializer(release).data)


def visible_turnovers(user) -> QuerySet[Turnover]:
    return Turnover.objects.filter(release__train__in=trains_visible_to(user)).select_related(
        "release__application", "submitted_by", "decided_by"
    )


class TurnoversView(generics.ListCreateAPIView):
    serializer_class = s.TurnoverSerializer

    def get_queryset(self):
        return visible_turnovers(self.request.user).order_by("-submitted_at", "-id")

    @extend_schema(
        summary="Turnovers of releases on trains you may see",
        responses=answers({200: s.TurnoverSerializer(many=True)}, 404),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Hand a development-complete release over (its product owner)",
        request=s.TurnoverCreateSerializer,
        responses=answers({201: s.TurnoverSerializer}, 400, 403, 409),
    )
    def post(self, request, *args, **kwargs):
        data = s.TurnoverCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        turnover = services.turnover_submit(by=request.user, **data.validated_data)
        return Response(s.TurnoverSerializer(turnover).data, status=status.HTTP_201_CREATED)


class TurnoverDecideView(APIView):
    accept = True

    @extend_schema(
        summary="Accept or reject a turnover (release engineers); rejecting needs a reason",
        request=s.TurnoverRejectSerializer,
        responses=answers({200: s.TurnoverSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        turnover = visible_turnovers(request.user).filter(pk=pk).first()
        if turnover is None:
            raise Http404("No such turnover.")
        reason = ""
        if not self.accept:
            data = s.TurnoverRejectSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            reason = data.validated_data["reason"]
        turnover = services.turnover_decide(
            turnover=turnover, by=request.user, accept=self.accept, reason=reason
        )
        return Response(s.TurnoverSerializer(turnover).data)


class TrainReleasesView(APIView):
    @extend_schema(
        summary="The application releases on a train",
        responses=answers({200: s.ReleaseSerializer(many=True)}, 404),
    )
    def get(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        releases = train.application_releases.select_related("application").order_by(
            "application__name", "version", "id"
        )
        return Response(s.ReleaseSerializer(releases, many=True).data)

    @extend_schema(
        summary="Put a release that is on no train onto this one (in scoping or "
        "construction, its release managers)",
        request=s.TrainReleaseAddSerializer,
        responses=answers({201: s.ReleaseSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        data = s.TrainReleaseAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        release = visible_releases(request.user).filter(pk=data.validated_data["release"]).first()
        if release is None:
            return Response(
                {"release": ["No such application release."]}, status=status.HTTP_400_BAD_REQUEST
            )
        services.release_add(train=train, release=release, by=request.user)
        release.refresh_from_db()
        return Response(s.ReleaseSerializer(release).data, status=status.HTTP_201_CREATED)


class TrainReleaseRemoveView(APIView):
    @extend_schema(
        summary="Take a release off the train, with a reason (in scoping or construction, "
        "its release managers); the release stays, on no train",
        request=s.ReleaseRemoveSerializer,
        responses=answers({200: s.ReleaseSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int, release_pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        release = (
            train.application_releases.select_related("application").filter(pk=release_pk).first()
        )
        if release is None:
            raise Http404("No such application release on this train.")
        # Permission before input: only its managers get to hear the reason is missing.
        get_train_for_user(request.user, pk, need=MANAGE)
        data = s.ReleaseRemoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.release_remove(
            train=train, release=release, by=request.user, reason=data.validated_data["reason"]
        )
        release.refresh_from_db()
        return Response(s.ReleaseSerializer(release).data)


# Milestones ------------------------------------------------------------------------------


class MilestonesView(APIView):
    @extend_schema(
        summary="The train's milestones, by due date",
        responses=answers({200: s.MilestoneSerializer(many=True)}, 404),
    )
    def get(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        milestones = train.milestones.select_related("reached_by").order_by("due_date", "id")
        return Response(s.MilestoneSerializer(milestones, many=True).data)

    @extend_schema(
        summary="Add a milestone inside the train's dates (an open train, its release managers)",
        request=s.MilestoneCreateSerializer,
        responses=answers({201: s.MilestoneSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        data = s.MilestoneCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        milestone = services.milestone_add(train=train, by=request.user, **data.validated_data)
        return Response(s.MilestoneSerializer(milestone).data, status=status.HTTP_201_CREATED)


class MilestoneReachView(APIView):
    @extend_schema(
        summary="Mark a milestone reached (its train's release managers)",
        request=None,
        responses=answers({200: s.MilestoneSerializer}, 403, 404),
    )
    def post(self, request, pk: int) -> Response:
        milestone = (
            Milestone.objects.filter(train__in=trains_visible_to(request.user), pk=pk)
            .select_related("train")
            .first()
        )
        if milestone is None:
            raise Http404("No such milestone.")
        milestone = services.milestone_reach(milestone=milestone, by=request.user)
        return Response(s.MilestoneSerializer(milestone).data)


# Sharing ---------------------------------------------------------------------------------


def _managed_train(request, pk: int) -> ReleaseTrain:
    """The train if the caller manages it: 404 when they may not see it, 403 when they
    may see it but not share it (as on the train's page)."""
    train = get_train_for_user(request.user, pk)
    if not can_manage(request.user, train):
        raise NotAllowed("Only the train's release managers see and change who it is shared with.")
    return train


class TrainAccessView(APIView):
    @extend_schema(
        summary="Who the train is shared with, and how (its release managers)",
        responses=answers({200: s.GrantSerializer(many=True)}, 403, 404),
    )
    def get(self, request, pk: int) -> Response:
        train = _managed_train(request, pk)
        return Response(s.GrantSerializer(grants_of(train=train), many=True).data)

    @extend_schema(
        summary="Share the train: view for anyone, manage for release managers "
        "(its release managers)",
        request=s.GrantCreateSerializer,
        responses=answers({201: s.GrantSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        train = _managed_train(request, pk)
        data = s.GrantCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, level = data.validated_data["username"], data.validated_data["level"]
        services.train_grant(train=train, by=request.user, user=user, level=level)
        grant = next(g for g in grants_of(train=train) if g["user"].pk == user.pk)
        return Response(s.GrantSerializer(grant).data, status=status.HTTP_201_CREATED)


class TrainAccessRevokeView(APIView):
    @extend_schema(
        summary="Stop sharing the train with someone (its release managers)",
        request=None,
        responses=answers({204: None}, 400, 403, 404, 409),
    )
    def delete(self, request, pk: int, user_pk: int) -> Response:
        train = _managed_train(request, pk)
        user = get_user_model().objects.filter(pk=user_pk).first()
        if user is None:
            raise Http404("No such user.")
        services.train_revoke(train=train, by=request.user, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Webhooks (release managers, each their own) ---------------------------------------------


def _require_release_manager(request) -> None:
    if not roles.has_role(request.user, roles.RELEASE_MANAGERS):
        raise NotAllowed("Only release managers manage webhooks.")


def _webhook(request, pk: int) -> WebhookSubscription:
    """One of the caller's webhooks, as on the webhook pages (404 for someone else's)."""
    _require_release_manager(request)
    subscription = api_selectors.subscriptions_for(user=request.user).filter(pk=pk).first()
    if subscription is None:
        raise Http404("No such webhook.")
    return subscription


class WebhooksView(APIView):
    @extend_schema(
        summary="Your webhooks (release managers)",
        responses=answers({200: s.WebhookSerializer(many=True)}, 403),
    )
    def get(self, request) -> Response:
        _require_release_manager(request)
        subscriptions = api_selectors.subscriptions_for(user=request.user)
        return Response(s.WebhookSerializer(subscriptions, many=True).data)

    @extend_schema(
        summary="Add a webhook (release managers); the answer carries its signing secret",
        request=s.WebhookCreateSerializer,
        responses=answers({201: s.WebhookSerializer}, 400, 403),
    )
    def post(self, request) -> Response:
        _require_release_manager(request)
        data = s.WebhookCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        subscription = api_services.subscription_create(by=request.user, **data.validated_data)
        return Response(s.WebhookSerializer(subscription).data, status=status.HTTP_201_CREATED)


class WebhookView(APIView):
    @extend_schema(
        summary="One of your webhooks, with its latest deliveries and their attempts",
        responses=answers({200: s.WebhookDetailSerializer}, 403, 404),
    )
    def get(self, request, pk: int) -> Response:
        subscription = _webhook(request, pk)
        subscription.recent_deliveries = api_selectors.recent_deliveries(subscription=subscription)
        return Response(s.WebhookDetailSerializer(subscription).data)

    @extend_schema(
        summary="Pause a webhook or turn it on again",
        request=s.WebhookActiveSerializer,
        responses=answers({200: s.WebhookSerializer}, 400, 403, 404),
    )
    def patch(self, request, pk: int) -> Response:
        subscription = _webhook(request, pk)
        data = s.WebhookActiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = api_services.subscription_set_active(
            subscription=subscription, by=request.user, active=data.validated_data["active"]
        )
        return Response(s.WebhookSerializer(subscription).data)

    @extend_schema(
        summary="Delete a webhook", request=None, responses=answers({204: None}, 403, 404)
    )
    def delete(self, request, pk: int) -> Response:
        api_services.subscription_delete(subscription=_webhook(request, pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryRedeliverView(APIView):
    @extend_schema(
        summary="Send a webhook delivery once more, now",
        request=None,
        responses=answers({202: s.WebhookDeliverySerializer}, 403, 404),
    )
    def post(self, request, pk: int) -> Response:
        _require_release_manager(request)
        delivery = (
            WebhookDelivery.objects.select_related("subscription")
            .filter(pk=pk, subscription__in=api_selectors.subscriptions_for(user=request.user))
            .first()
        )
        if delivery is None:
            raise Http404("No such webhook delivery.")
        delivery = api_services.delivery_redeliver(delivery=delivery, by=request.user)
        from api.tasks import webhook_deliver

        # Due now in the database: if the broker is away, the sweep sends it.
        broker.publish(webhook_deliver, delivery.pk)
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


# Notification settings (each person their own) ---------------------------------------------


class NotificationPreferencesView(APIView):
    @extend_schema(
        summary="How you hear of each kind of notification: email, digest or off",
        responses=answers({200: s.NotificationPreferencesSerializer}),
    )
    def get(self, request) -> Response:
        return Response(notification_selectors.preferences_for(user=request.user))

    @extend_schema(
        summary="Change how you hear of some kinds of notification (the others stay)",
        request=s.NotificationPreferencesSerializer,
        responses=answers({200: s.NotificationPreferencesSerializer}, 400),
    )
    def patch(self, request) -> Response:
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Send an object: kind -> delivery."]})
        unknown = sorted(set(request.data) - {k.value for k in NotificationKind})
        if unknown:
            raise ValidationError({k: ["Unknown kind of notification."] for k in unknown})
        data = s.NotificationPreferencesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        notification_services.preferences_set(user=request.user, choices=data.validated_data)
        return Response(notification_selectors.preferences_for(user=request.user))


class AddressRetryView(APIView):
    @extend_schema(
        summary="Mail your address again after the mail server refused it",
        request=None,
        responses=answers({200: s.ErrorSerializer}, 403),
    )
    def post(self, request) -> Response:
        notification_services.undeliverable_clear(by=request.user, address=request.user.email)
        return Response({"detail": f"Mail to {request.user.email} will be tried again."})


# Metrics ----------------------------------------------------------------------------------


class MetricsView(APIView):
    @extend_schema(
        summary="Delivery metrics over a period, of the trains you may see",
        description=(
            "The figures of the metrics page (/metrics/): on-time rate, slip, approval wait, "
            "lead time, deployments, change failure rate, time to restore, rejections and "
            "emergency share. Durations in days. Release managers and executives only."
        ),
        parameters=[
            OpenApiParameter(
                "first", OpenApiTypes.DATE, description="First day (default: 89 days ago)."
            ),
            OpenApiParameter("last", OpenApiTypes.DATE, description="Last day (default: today)."),
            OpenApiParameter("q", str, description="Name or purpose contains."),
            OpenApiParameter("state", str, many=True, enum=TrainState.values),
            OpenApiParameter("train_type", str, enum=TrainType.values),
            OpenApiParameter("manager", int, description="The primary release manager's id."),
            OpenApiParameter(
                "fresh",
                OpenApiTypes.BOOL,
                description=(
                    "Compute the figures now. Otherwise they are as last computed, while no "
                    "train, decision or deployment changed, for "
                    f"{SNAPSHOT_SECONDS // 60} minutes at most (computed_at)."
                ),
            ),
        ],
        responses=answers({200: s.MetricsSerializer}, 400, 403),
    )
    def get(self, request) -> Response:
        require_metrics(request.user)
        scope = metrics_scope(request.user, request.query_params)
        if scope.errors:
            return Response({"detail": " ".join(scope.errors)}, status=status.HTTP_400_BAD_REQUEST)
        figures = metrics_snapshot(
            trains=scope.trains,
            period=scope.period,
            recompute=request.query_params.get("fresh", "").lower() in ("1", "true"),
        )
        return Response(s.MetricsSerializer(s.metrics_data(figures)).data)


# Freeze windows --------------------------------------------------------------------------


class FreezeWindowsView(APIView):
    @extend_schema(
        summary="Freeze windows: days no train deploys, save an emergency train's exception",
        responses=answers({200: s.FreezeWindowSerializer(many=True)}),
    )
    def get(self, request) -> Response:
        windows = FreezeWindow.objects.select_related("created_by").order_by("start", "id")
        return Response(s.FreezeWindowSerializer(windows, many=True).data)

    @extend_schema(
        summary="Add a freeze window (staff and release managers)",
        request=s.FreezeWindowSerializer,
        responses=answers({201: s.FreezeWindowSerializer}, 400, 403),
    )
    def post(self, request) -> Response:
        _may_keep_freezes(request.user)
        data = s.FreezeWindowSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        window = services.freeze_create(by=request.user, **data.validated_data)
        return Response(s.FreezeWindowSerializer(window).data, status=status.HTTP_201_CREATED)


def _may_keep_freezes(user) -> None:
    """Permission before input: only a keeper hears what is wrong with the input."""
    if not may_keep_freezes(user):
        raise NotAllowed(freeze_services.REFUSAL)


def _freeze_window(pk: int) -> FreezeWindow:
    window = FreezeWindow.objects.select_related("created_by").filter(pk=pk).first()
    if window is None:
        raise Http404("No such freeze window.")
    return window


class FreezeWindowView(APIView):
    @extend_schema(
        summary="One freeze window", responses=answers({200: s.FreezeWindowSerializer}, 404)
    )
    def get(self, request, pk: int) -> Response:
        return Response(s.FreezeWindowSerializer(_freeze_window(pk)).data)

    @extend_schema(
        summary="Change a freeze window (staff and release managers)",
        request=s.FreezeWindowSerializer,
        responses=answers({200: s.FreezeWindowSerializer}, 400, 403, 404),
    )
    def patch(self, request, pk: int) -> Response:
        _may_keep_freezes(request.user)
        window = _freeze_window(pk)
        current = {f: getattr(window, f) for f in ("name", "start", "end", "reason")}
        data = s.FreezeWindowSerializer(data={**current, **request.data})
        data.is_valid(raise_exception=True)
        window = services.freeze_update(window=window, by=request.user, **data.validated_data)
        return Response(s.FreezeWindowSerializer(window).data)

    @extend_schema(
        summary="Remove a freeze window, with a reason (staff and release managers)",
        request=s.FreezeRemoveSerializer,
        responses=answers({204: None}, 400, 403, 404),
    )
    def delete(self, request, pk: int) -> Response:
        _may_keep_freezes(request.user)
        window = _freeze_window(pk)
        data = s.FreezeRemoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.freeze_delete(window=window, by=request.user, reason=data.validated_data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)
