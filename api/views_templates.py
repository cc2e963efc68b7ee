"""The API of templates, clones and schedules: what the template pages do, for scripts.
Release managers only (`trains.access.may_create_trains`, else 403); a train to clone or
to save as a template is found through the access policy (404 when not yours to see)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers_templates as s
from api.serializers import TrainDetailSerializer
from api.views import _train_detail, answers
from applications.models import ApplicationRelease
from releasemgr.exceptions import InvalidState, NotAllowed
from trains import access
from trains.access import get_train_for_user
from trains.models import CadenceSchedule, ScheduledTrain, TemplateEvent, TrainTemplate
from trains.services import templates as services


def _planner(request) -> None:
    if not access.may_create_trains(request.user):
        raise NotAllowed("Only release managers make trains, templates and schedules.")


def _templates() -> QuerySet[TrainTemplate]:
    return TrainTemplate.objects.select_related("primary_manager").prefetch_related("schedules")


def _template(request, pk: int) -> TrainTemplate:
    _planner(request)
    template = _templates().filter(pk=pk).first()
    if template is None:
        raise Http404("No such template.")
    return template


def _schedules() -> QuerySet[CadenceSchedule]:
    return CadenceSchedule.objects.select_related("template").prefetch_related(
        Prefetch("made_trains", queryset=ScheduledTrain.objects.select_related("train"))
    )


def _schedule(request, pk: int) -> CadenceSchedule:
    _planner(request)
    schedule = _schedules().filter(pk=pk).first()
    if schedule is None:
        raise Http404("No such schedule.")
    return schedule


def _schedule_data(pk: int) -> dict:
    return s.ScheduleSerializer(_schedules().get(pk=pk)).data


class TemplatesView(APIView):
    @extend_schema(
        summary="Train templates (release managers)",
        responses=answers({200: s.TemplateSerializer(many=True)}, 403),
    )
    def get(self, request) -> Response:
        _planner(request)
        return Response(s.TemplateSerializer(_templates().order_by("name"), many=True).data)

    @extend_schema(
        summary="Save a train as a named template",
        request=s.TemplateSaveSerializer,
        responses=answers({201: s.TemplateSerializer}, 400, 403, 404),
    )
    def post(self, request) -> Response:
        _planner(request)
        data = s.TemplateSaveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        train = get_train_for_user(request.user, values.pop("train"))
        template = services.template_save(train=train, by=request.user, **values)
        return Response(
            s.TemplateSerializer(_templates().get(pk=template.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class TemplateDetailView(APIView):
    @extend_schema(
        summary="One template, with its plan",
        responses=answers({200: s.TemplateSerializer}, 403, 404),
    )
    def get(self, request, pk: int) -> Response:
        return Response(s.TemplateSerializer(_template(request, pk)).data)

    @extend_schema(
        summary="Change a template (its history says old → new)",
        request=s.TemplateWriteSerializer,
        responses=answers({200: s.TemplateSerializer}, 400, 403, 404),
    )
    def patch(self, request, pk: int) -> Response:
        template = _template(request, pk)
        data = s.TemplateWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.template_update(template=template, by=request.user, **data.service_arguments())
        return Response(s.TemplateSerializer(_templates().get(pk=pk)).data)


class TemplateEventsView(APIView):
    @extend_schema(
        summary="A template's history, newest first",
        responses=answers({200: s.TemplateEventSerializer(many=True)}, 403, 404),
    )
    def get(self, request, pk: int) -> Response:
        template = _template(request, pk)
        events = TemplateEvent.objects.filter(template=template).select_related("actor")
        return Response(s.TemplateEventSerializer(events, many=True).data)


class TemplateTrainsView(APIView):
    @extend_schema(
        summary="Make a train from a template",
        request=s.FromTemplateSerializer,
        responses=answers({201: TrainDetailSerializer}, 400, 403, 404),
    )
    def post(self, request, pk: int) -> Response:
        template = _template(request, pk)
        data = s.FromTemplateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        train = services.train_from_template(
            template=template, by=request.user, **data.validated_data
        )
        return Response(_train_detail(request, train.pk), status=status.HTTP_201_CREATED)


class TrainCloneView(APIView):
    @extend_schema(
        summary="What a clone of this train would be: a start, a name, the next releases",
        responses=answers({200: s.CloneOfferSerializer}, 403, 404),
    )
    def get(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        _planner(request)
        start = train.end_date + timedelta(days=1)
        return Response(
            s.CloneOfferSerializer(
                {
                    "suggested_start": start,
                    "suggested_name": services.clone_name(train, start),
                    "releases": services.next_planned_releases(train),
                }
            ).data
        )

    @extend_schema(
        summary="New train like this one, its dates moved to a new start",
        request=s.CloneSerializer,
        responses=answers({201: TrainDetailSerializer}, 400, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        train = get_train_for_user(request.user, pk)
        _planner(request)
        data = s.CloneSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        ids = values.pop("releases")
        releases = list(ApplicationRelease.objects.filter(pk__in=ids))
        if len(releases) != len(set(ids)):
            raise Http404("No such application release.")
        new = services.train_clone(train=train, by=request.user, releases=releases, **values)
        return Response(_train_detail(request, new.pk), status=status.HTTP_201_CREATED)


class TemplateSchedulesView(APIView):
    @extend_schema(
        summary="A template's schedules",
        responses=answers({200: s.ScheduleSerializer(many=True)}, 403, 404),
    )
    def get(self, request, pk: int) -> Response:
        template = _template(request, pk)
        return Response(
            s.ScheduleSerializer(_schedules().filter(template=template), many=True).data
        )

    @extend_schema(
        summary="Add a schedule to a template",
        request=s.ScheduleWriteSerializer,
        responses=answers({201: s.ScheduleSerializer}, 400, 403, 404),
    )
    def post(self, request, pk: int) -> Response:
        template = _template(request, pk)
        data = s.ScheduleWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = services.schedule_create(
            template=template, by=request.user, **data.validated_data
        )
        return Response(_schedule_data(schedule.pk), status=status.HTTP_201_CREATED)


class SchedulesView(APIView):
    @extend_schema(
        summary="Every schedule", responses=answers({200: s.ScheduleSerializer(many=True)}, 403)
    )
    def get(self, request) -> Response:
        _planner(request)
        return Response(s.ScheduleSerializer(_schedules().order_by("id"), many=True).data)


class ScheduleDetailView(APIView):
    @extend_schema(
        summary="One schedule, with the trains it made",
        responses=answers({200: s.ScheduleSerializer}, 403, 404),
    )
    def get(self, request, pk: int) -> Response:
        return Response(s.ScheduleSerializer(_schedule(request, pk)).data)

    @extend_schema(
        summary="Change a schedule",
        request=s.ScheduleWriteSerializer(partial=True),
        responses=answers({200: s.ScheduleSerializer}, 400, 403, 404),
    )
    def patch(self, request, pk: int) -> Response:
        schedule = _schedule(request, pk)
        data = s.ScheduleWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.schedule_update(schedule=schedule, by=request.user, **data.validated_data)
        return Response(_schedule_data(pk))

    @extend_schema(
        summary="Remove a schedule (the trains it made stay)",
        responses=answers({204: None}, 403, 404),
    )
    def delete(self, request, pk: int) -> Response:
        services.schedule_delete(schedule=_schedule(request, pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SchedulePauseView(APIView):
    paused = True

    @extend_schema(
        summary="Pause a schedule (it makes no more trains) or resume it",
        request=None,
        responses=answers({200: s.ScheduleSerializer}, 403, 404),
    )
    def post(self, request, pk: int) -> Response:
        schedule = _schedule(request, pk)
        services.schedule_set_paused(schedule=schedule, by=request.user, paused=self.paused)
        return Response(_schedule_data(pk))


class ScheduleRunView(APIView):
    @extend_schema(
        summary="Make the schedule's next trains now (as beat would)",
        request=None,
        responses=answers({200: s.ScheduleSerializer}, 403, 404, 409),
    )
    def post(self, request, pk: int) -> Response:
        schedule = _schedule(request, pk)
        if schedule.paused:
            raise InvalidState("This schedule is paused: resume it to make its trains.")
        services.schedule_run(schedule=schedule, today=timezone.localdate())
        return Response(_schedule_data(pk))
