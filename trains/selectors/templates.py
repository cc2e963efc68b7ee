"""Reads for the templates pages: the list, and one template with its plan in words,
its schedules with their next trains, and its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from approvals.models import Gate, group_approver_label
from releasemgr.people import name_of
from trains import planning
from trains.choices import PHASE_ORDER, PhaseKind
from trains.models import CadenceSchedule, ScheduledTrain, TemplateEvent, TrainTemplate

HISTORY_SHOWN = 50


def template_list() -> QuerySet[TrainTemplate]:
    """Every template with its manager and how many schedules run (one query)."""
    return TrainTemplate.objects.select_related("primary_manager").annotate(
        schedule_count=Count("schedules", distinct=True),
        running_count=Count("schedules", filter=Q(schedules__paused=False), distinct=True),
    )


@dataclass
class ScheduleRow:
    schedule: CadenceSchedule
    words: str
    made: list[ScheduledTrain]
    next_days: list[tuple[date, str]]  # the next windows not made yet, with their names


@dataclass
class TemplatePage:
    template: TrainTemplate
    phases: list[tuple[str, int | None]]
    milestones: list[tuple[str, int]]
    criteria: list[dict]
    approvers: list[str]
    schedules: list[ScheduleRow]
    events: list[TemplateEvent]
    today: date


def template_page(template: TrainTemplate) -> TemplatePage:
    """One template for its page: the plan in words, the schedules and their trains, the
    history; a fixed number of queries whatever its size."""
    plan = template.plan or {}
    ends = plan.get("phase_ends", {})
    requirements = plan.get("requirements", [])
    users = {
        u.pk: u
        for u in get_user_model().objects.filter(
            pk__in=[r["user"] for r in requirements if r.get("user")]
        )
    }
    groups = {
        g.pk: g.name
        for g in Group.objects.filter(pk__in=[r["group"] for r in requirements if r.get("group")])
    }
    approvers = []
    for r in requirements:
        who = (
            name_of(users[r["user"]])
            if r.get("user") in users
            else group_approver_label(groups.get(r.get("group"), "?"), r["required_approvals"])
        )
        approvers.append(f"{Gate(r['gate']).label}: {who}")
    today = timezone.localdate()
    schedules = []
    for schedule in template.schedules.prefetch_related(
        Prefetch(
            "made_trains",
            queryset=ScheduledTrain.objects.select_related("train").order_by("-window_start"),
        )
    ).order_by("id"):
        schedule.template = template
        made = list(schedule.made_trains.all())
        have = {m.window_start for m in made}
        upcoming = planning.upcoming(schedule, today=today, ahead=settings.CADENCE_AHEAD)
        schedules.append(
            ScheduleRow(
                schedule=schedule,
                words=planning.describe_schedule(schedule),
                made=made,
                next_days=[
                    (day, planning.render_name(schedule.pattern, day))
                    for day in upcoming
                    if day not in have
                ],
            )
        )
    return TemplatePage(
        template=template,
        phases=[(PhaseKind(kind).label, ends.get(kind)) for kind in PHASE_ORDER],
        milestones=[(m["name"], m["offset"]) for m in plan.get("milestones", [])],
        criteria=plan.get("criteria", []),
        approvers=approvers,
        schedules=schedules,
        events=list(
            TemplateEvent.objects.filter(template=template).select_related("actor")[:HISTORY_SHOWN]
        ),
        today=today,
    )
