"""Templates, clones and cadence: trains made from a plan (trains/planning.py).

- `train_clone`: a new train like another, its dates shifted to a chosen start;
- `template_save`, `template_update`: a train's plan kept under a name, versioned by its
  history (TemplateEvent: old → new);
- `train_from_template`: a train from a template;
- `schedule_*`: a cadence on a template; `schedule_run` keeps its next trains made, once
  per (schedule, window) whatever runs it at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from guardian.shortcuts import assign_perm

from applications.models import ApplicationRelease
from approvals.models import ApprovalRequirement
from releasemgr import roles
from releasemgr.exceptions import NotAllowed, ServiceError
from releasemgr.people import name_of
from trains import access, planning
from trains.choices import EventKind, TrainType
from trains.models import (
    CadenceSchedule,
    ExitCriterion,
    Milestone,
    ReleaseTrain,
    ScheduledTrain,
    TemplateEvent,
    TrainTemplate,
)
from trains.services.common import User, record
from trains.services.gates import requirements_check
from trains.services.releases import release_add
from trains.services.trains import train_create

log = logging.getLogger(__name__)

TEMPLATE_FIELDS = (
    "name",
    "name_pattern",
    "train_type",
    "purpose",
    "primary_manager",
    "duration_days",
)
SCHEDULE_FIELDS = (
    "cadence",
    "interval",
    "ordinal",
    "weekday",
    "start_date",
    "end_date",
    "name_pattern",
)


def _require_planner(by: User) -> None:
    if not access.may_create_trains(by):
        raise NotAllowed("Only release managers make trains, templates and schedules.")


# Making a train from a plan ------------------------------------------------------------


def _make_train(
    *,
    by: User,
    plan: dict,
    duration_days: int,
    name: str,
    train_type: str,
    purpose: str,
    primary_manager: User,
    start_date: date,
    origin: str,
    origin_data: dict,
) -> ReleaseTrain:
    """Submit a train with the plan's dates shifted to `start_date`, its exit criteria
    (unticked), milestones, approval requirements, engineers and sharing. One history row
    says where it came from. Call inside a transaction."""
    dates = planning.shifted(plan, duration_days, start_date)
    users = {u.pk: u for u in get_user_model().objects.filter(is_active=True, pk__in=_people(plan))}
    train = train_create(
        by=by,
        name=name,
        train_type=train_type,
        primary_manager=primary_manager,
        start_date=dates.start_date,
        end_date=dates.end_date,
        purpose=purpose,
        phase_ends=dates.phase_ends,
        release_engineers=[users[pk] for pk in plan.get("release_engineers", []) if pk in users],
        viewer_groups=() if "sharing" in plan else (roles.QA, roles.RELEASE_ENGINEERS),
    )
    start = train.start_date
    if plan.get("criteria") is not None:
        # The plan's criteria replace the defaults train_create gave it: a copy is a copy.
        train.criteria.all().delete()
        ExitCriterion.objects.bulk_create(
            ExitCriterion(
                train=train,
                phase=c["phase"],
                description=c["description"],
                required=c["required"],
                rule=c["rule"],
                due_date=planning.at(start, c.get("due_offset")),
            )
            for c in plan["criteria"]
        )
    Milestone.objects.bulk_create(
        Milestone(train=train, name=m["name"], due_date=planning.at(start, m["offset"]))
        for m in plan.get("milestones", [])
    )
    groups = {g.pk: g for g in Group.objects.filter(pk__in=_groups(plan))}
    ApprovalRequirement.objects.bulk_create(
        ApprovalRequirement(
            train=train,
            gate=r["gate"],
            user=users.get(r["user"]),
            group=groups.get(r["group"]),
            required_approvals=r["required_approvals"],
        )
        for r in plan.get("requirements", [])
        if users.get(r["user"]) or groups.get(r["group"])
    )
    requirements_check(train)
    sharing = plan.get("sharing", {})
    for pk, level in sharing.get("users", []):
        user = users.get(pk)
        if user is None:
            continue
        assign_perm(access.VIEW_PERM, user, train)
        if level == "manage" and roles.has_role(user, roles.RELEASE_MANAGERS):
            assign_perm(access.MANAGE_PERM, user, train)
    for pk, level in sharing.get("groups", []):
        if pk in groups:
            assign_perm(access.VIEW_PERM, groups[pk], train)
            if level == "manage":
                assign_perm(access.MANAGE_PERM, groups[pk], train)
    record(train, EventKind.CREATED, by, origin, data=origin_data)
    return train


def _people(plan: dict) -> set[int]:
    return (
        {r["user"] for r in plan.get("requirements", []) if r.get("user")}
        | set(plan.get("release_engineers", []))
        | {pk for pk, _ in plan.get("sharing", {}).get("users", [])}
    )


def _groups(plan: dict) -> set[int]:
    return {r["group"] for r in plan.get("requirements", []) if r.get("group")} | {
        pk for pk, _ in plan.get("sharing", {}).get("groups", [])
    }


# Clone ---------------------------------------------------------------------------------


def clone_name(train: ReleaseTrain, start_date: date) -> str:
    """The name a clone starting that day is offered: the source's name pattern filled
    for the new start, or the source's name with the start day when it has no pattern."""
    name = planning.render_name(
        planning.pattern_from_name(train.name, train.start_date), start_date
    )
    if name.casefold() == train.name.casefold():
        name = f"{train.name} {start_date.isoformat()}"
    return name[:120]


def train_clone(
    *,
    train: ReleaseTrain,
    by: User,
    start_date: date,
    name: str = "",
    releases: Iterable[ApplicationRelease] = (),
) -> ReleaseTrain:
    """A new train like this one, starting on `start_date`, led by whoever clones it.
    Its application releases stay; `releases` (their applications' next planned ones)
    join the new train. Both trains' histories say so."""
    _require_planner(by)
    if not access.can_view(by, train):
        raise NotAllowed("You may not see this train.")
    if start_date is None:
        raise ValidationError({"start_date": "Choose the day the new train starts."})
    name = (name or "").strip() or clone_name(train, start_date)
    with transaction.atomic():
        plan = planning.plan_of(train)
        new = _make_train(
            by=by,
            plan=plan,
            duration_days=(train.end_date - train.start_date).days,
            name=name,
            train_type=train.train_type,
            purpose=train.purpose,
            primary_manager=by,
            start_date=start_date,
            origin=f"Made like {train.name}, its dates moved to start on {start_date}",
            origin_data={
                "cloned_from": train.pk,
                "shift_days": (start_date - train.start_date).days,
            },
        )
        for release in releases:
            release_add(train=new, release=release, by=by)
        record(
            train,
            EventKind.UPDATED,
            by,
            f"New train {new.name} made like this one, starting on {start_date}",
            data={"cloned_into": new.pk},
        )
    return new


def next_planned_releases(train: ReleaseTrain) -> list[ApplicationRelease]:
    """The releases a clone of this train may take: for each application with a release
    on it, its planned releases on no train yet, the next first."""
    apps = ApplicationRelease.objects.filter(train=train).values("application_id")
    return list(
        ApplicationRelease.objects.filter(
            application_id__in=apps, train__isnull=True, state="planned"
        )
        .select_related("application")
        .order_by("application__name", "created_at", "id")
    )


# Templates -----------------------------------------------------------------------------


def _template_record(template: TrainTemplate, by: User | None, message: str, data=None) -> None:
    TemplateEvent.objects.create(template=template, actor=by, message=message, data=data or {})


def _clean_template(template: TrainTemplate) -> None:
    errors: dict[str, list[str]] = {}
    try:
        # The unique name is checked below, on its field.
        template.full_clean(
            exclude=["plan", "source_train", "created_by"], validate_constraints=False
        )
    except ValidationError as error:
        errors.update(error.message_dict)
    if template.name_pattern and "name_pattern" not in errors:
        try:
            planning.check_pattern(template.name_pattern)
        except ValidationError as error:
            errors["name_pattern"] = error.messages
    if template.primary_manager_id and not roles.has_role(
        template.primary_manager, roles.RELEASE_MANAGERS
    ):
        errors["primary_manager"] = ["The primary manager must be a release manager."]
    offsets = [o for o in template.plan.get("phase_ends", {}).values() if o is not None]
    offsets += [m["offset"] for m in template.plan.get("milestones", [])]
    if template.duration_days is not None and offsets and max(offsets) > template.duration_days:
        errors.setdefault("duration_days", []).append(
            f"Its phases and milestones need a window of at least {max(offsets)} days."
        )
    duplicate = TrainTemplate.objects.filter(name__iexact=template.name).exclude(pk=template.pk)
    if template.name and duplicate.exists() and "name" not in errors:
        errors["name"] = ["A template already has this name."]
    if errors:
        raise ValidationError(errors)


def template_save(
    *, train: ReleaseTrain, by: User, name: str, name_pattern: str = ""
) -> TrainTemplate:
    """Keep this train's plan as a named template."""
    _require_planner(by)
    if not access.can_view(by, train):
        raise NotAllowed("You may not see this train.")
    template = TrainTemplate(
        name=(name or "").strip(),
        name_pattern=(name_pattern or "").strip()
        or planning.pattern_from_name(train.name, train.start_date),
        train_type=train.train_type,
        purpose=train.purpose,
        primary_manager=train.primary_manager,
        duration_days=(train.end_date - train.start_date).days,
        plan=planning.plan_of(train),
        source_train=train,
        created_by=by,
    )
    _clean_template(template)
    with transaction.atomic():
        try:
            with transaction.atomic():
                template.save()
        except IntegrityError:
            raise ValidationError({"name": "A template already has this name."}) from None
        _template_record(
            template,
            by,
            f"Template {template.name} saved from train {train.name}",
            {"train": train.pk},
        )
        record(
            train,
            EventKind.UPDATED,
            by,
            f"Saved as template {template.name}",
            data={"template": template.pk},
        )
    return template


def template_update(*, template: TrainTemplate, by: User, **fields) -> TrainTemplate:
    """Change a template; its history says what changed, from what to what."""
    _require_planner(by)
    unknown = set(fields) - set(TEMPLATE_FIELDS)
    if unknown:
        raise ServiceError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        locked = TrainTemplate.objects.select_for_update().get(pk=template.pk)
        changes = []
        for field in TEMPLATE_FIELDS:
            if field not in fields:
                continue
            value = fields[field]
            if isinstance(value, str):
                value = value.strip()
            old = getattr(locked, field)
            if old != value:
                setattr(locked, field, value)
                changes.append((field, old, value))
        _clean_template(locked)
        if changes:
            try:
                with transaction.atomic():
                    locked.save()
            except IntegrityError:
                raise ValidationError({"name": "A template already has this name."}) from None
            message, data = _changes(TrainTemplate, changes)
            _template_record(locked, by, message, data)
    return locked


def _changes(model, changes: list[tuple[str, object, object]]) -> tuple[str, dict]:
    return (
        "Changed "
        + "; ".join(
            f"{model._meta.get_field(f).verbose_name}: {_shown(f, old)} → {_shown(f, new)}"
            for f, old, new in changes
        ),
        {"changes": {f: [_kept(old), _kept(new)] for f, old, new in changes}},
    )


def _shown(field: str, value) -> str:
    if field == "train_type" and value:
        return TrainType(value).label
    if isinstance(value, Model):
        return name_of(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is None or value == "":
        return "none"
    text = " ".join(str(value).split())
    return text if len(text) <= 80 else text[:79] + "…"


def _kept(value):
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, date):
        return value.isoformat()
    return value


def train_from_template(
    *, template: TrainTemplate, by: User, start_date: date, name: str = ""
) -> ReleaseTrain:
    """A train from a template, starting on `start_date`, named from its pattern unless
    a name is given."""
    _require_planner(by)
    if start_date is None:
        raise ValidationError({"start_date": "Choose the day the train starts."})
    with transaction.atomic():
        return _from_template(template, by=by, start_date=start_date, name=name)


def _from_template(
    template: TrainTemplate, *, by: User, start_date: date, name: str = "", origin: str = ""
) -> ReleaseTrain:
    train = _make_train(
        by=by,
        plan=template.plan,
        duration_days=template.duration_days,
        name=(name or "").strip() or planning.render_name(template.name_pattern, start_date),
        train_type=template.train_type,
        purpose=template.purpose,
        primary_manager=template.primary_manager,
        start_date=start_date,
        origin=origin or f"Made from template {template.name}",
        origin_data={"template": template.pk},
    )
    _template_record(
        template,
        by,
        f"Train {train.name} made from it, starting on {start_date}",
        {"train": train.pk},
    )
    return train


# Schedules -----------------------------------------------------------------------------


def _clean_schedule(schedule: CadenceSchedule) -> None:
    if schedule.cadence != "monthly_weekday":
        schedule.ordinal = schedule.weekday = None
    if schedule.cadence == "quarterly":
        schedule.interval = 1
    schedule.full_clean(exclude=["template", "created_by"], validate_constraints=False)
    planning.check_schedule(schedule)  # the constraints too, each on its field


def schedule_create(*, template: TrainTemplate, by: User, **fields) -> CadenceSchedule:
    """A cadence on a template; its trains are made by the next run (or at once)."""
    _require_planner(by)
    unknown = set(fields) - set(SCHEDULE_FIELDS)
    if unknown:
        raise ServiceError(f"Unknown schedule fields: {', '.join(sorted(unknown))}.")
    schedule = CadenceSchedule(template=template, created_by=by, **fields)
    schedule.interval = schedule.interval or 1
    schedule.name_pattern = (schedule.name_pattern or "").strip()
    _clean_schedule(schedule)
    with transaction.atomic():
        schedule.save()
        _template_record(
            template,
            by,
            f"Schedule added: {planning.describe_schedule(schedule)}, named {schedule.pattern}",
            {"schedule": schedule.pk},
        )
    return schedule


def schedule_update(*, schedule: CadenceSchedule, by: User, **fields) -> CadenceSchedule:
    _require_planner(by)
    unknown = set(fields) - set(SCHEDULE_FIELDS)
    if unknown:
        raise ServiceError(f"Unknown schedule fields: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        locked = (
            CadenceSchedule.objects.select_for_update(of=("self",))
            .select_related("template")
            .get(pk=schedule.pk)
        )
        before = planning.describe_schedule(locked), locked.pattern
        changes = []
        for field, value in fields.items():
            if isinstance(value, str):
                value = value.strip()
            old = getattr(locked, field)
            if old != value:
                setattr(locked, field, value)
                changes.append((field, old, value))
        _clean_schedule(locked)
        after = planning.describe_schedule(locked), locked.pattern
        if changes:
            locked.save()
            _template_record(
                locked.template,
                by,
                f"Schedule changed: {before[0]}, named {before[1]} → {after[0]}, named {after[1]}",
                {
                    "schedule": locked.pk,
                    "changes": {f: [_kept(old), _kept(new)] for f, old, new in changes},
                },
            )
    return locked


def schedule_set_paused(*, schedule: CadenceSchedule, by: User, paused: bool) -> CadenceSchedule:
    """Pause a schedule (it makes no more trains) or resume it."""
    _require_planner(by)
    with transaction.atomic():
        locked = (
            CadenceSchedule.objects.select_for_update(of=("self",))
            .select_related("template")
            .get(pk=schedule.pk)
        )
        if locked.paused != paused:
            locked.paused = paused
            locked.save(update_fields=["paused", "updated_at"])
            _template_record(
                locked.template,
                by,
                f"Schedule {'paused' if paused else 'resumed'}: "
                f"{planning.describe_schedule(locked)}",
                {"schedule": locked.pk, "changes": {"paused": [not paused, paused]}},
            )
    return locked


def schedule_delete(*, schedule: CadenceSchedule, by: User) -> None:
    """Remove a schedule. The trains it made stay; it makes no more."""
    _require_planner(by)
    with transaction.atomic():
        locked = (
            CadenceSchedule.objects.select_for_update(of=("self",))
            .select_related("template")
            .get(pk=schedule.pk)
        )
        _template_record(
            locked.template,
            by,
            f"Schedule removed: {planning.describe_schedule(locked)}",
            {"schedule": locked.pk, "removed": True},
        )
        locked.delete()


def schedule_run(*, schedule: CadenceSchedule, today: date) -> list[ReleaseTrain]:
    """Make the schedule's next trains that are not made yet (CADENCE_AHEAD of them from
    today). The schedule's row is locked while it runs, so two runs at once take turns
    and the second finds the first one's trains; the unique (schedule, window) key holds
    even without the lock. A window whose train cannot be made (its name is taken, its
    maker is no longer a release manager) is skipped and said in `last_error`."""
    made: list[ReleaseTrain] = []
    errors: list[str] = []
    with transaction.atomic():
        locked = (
            CadenceSchedule.objects.select_for_update(of=("self",))
            .select_related("template", "template__primary_manager", "created_by")
            .filter(pk=schedule.pk)
            .first()
        )
        if locked is None or locked.paused:
            return []
        wanted = planning.upcoming(locked, today=today, ahead=settings.CADENCE_AHEAD)
        have = set(
            locked.made_trains.filter(window_start__in=wanted).values_list(
                "window_start", flat=True
            )
        )
        for day in wanted:
            if day in have:
                continue
            name = planning.render_name(locked.pattern, day)
            try:
                with transaction.atomic():
                    train = _from_template(
                        locked.template,
                        by=locked.created_by,
                        start_date=day,
                        name=name,
                        origin=(
                            f"Made by the schedule of template {locked.template.name} "
                            f"({planning.describe_schedule(locked)}) for {day}"
                        ),
                    )
                    ScheduledTrain.objects.create(schedule=locked, window_start=day, train=train)
            except (ValidationError, ServiceError, IntegrityError) as error:
                text = " ".join(getattr(error, "messages", [str(error)]))
                errors.append(f"{name} ({day}): {text}")
                log.warning("Schedule %s could not make %s: %s", locked.pk, name, text)
            else:
                made.append(train)
        locked.last_run_at = timezone.now()
        locked.last_error = "\n".join(errors)
        locked.save(update_fields=["last_run_at", "last_error"])
    return made


def cadences_run(*, today: date | None = None) -> list[ReleaseTrain]:
    """Run every schedule that is not paused (Celery beat: trains.tasks.run_cadences)."""
    today = today or timezone.localdate()
    made: list[ReleaseTrain] = []
    for schedule in CadenceSchedule.objects.filter(paused=False).order_by("id"):
        made += schedule_run(schedule=schedule, today=today)
    return made
