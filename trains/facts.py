"""What a train's conditions and status are computed from, read in one go.

`with_facts(trains)` adds the facts to a query of trains as JSON columns (one subquery
each, no extra query), so that a list of many trains has them at no extra round trip;
`facts_of(train)` reads them off such a train, or in one query for a train read some
other way, and keeps them on the train until `forget(train)` (a command calls it when it
changes what the facts say).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, JSONObject

from applications.models import ApplicationRelease, ReleaseState, Turnover, TurnoverState
from approvals.models import ApprovalDecision, ApprovalRequirement, Gate, group_approver_label
from releasemgr.db import JSONList, once_a_database
from releasemgr.people import person_name
from trains.choices import PHASE_ORDER, CriterionCheck, PhaseKind

if TYPE_CHECKING:
    from trains.models import ReleaseTrain

REFUSALS = ("cancel", "reject_development", "reject_executive")


@dataclass(frozen=True)
class Person:
    pk: int
    username: str
    name: str


@dataclass(frozen=True)
class PhaseFact:
    kind: PhaseKind
    planned_end: date | None
    actual_start: datetime | None
    actual_end: datetime | None


@dataclass(frozen=True)
class CriterionFact:
    pk: int
    phase: PhaseKind
    description: str
    required: bool
    rule: str
    due_date: date | None
    met_at: datetime | None
    met_by: str  # the name of who ticked it

    @property
    def is_manual(self) -> bool:
        return self.rule == CriterionCheck.MANUAL


@dataclass(frozen=True)
class RequirementFact:
    """An approval requirement with the approvals and rejections of its gate's current
    round (distinct people)."""

    pk: int
    gate: str
    label: str
    user_id: int | None
    group_id: int | None
    needed: int
    approvals: int
    rejections: int
    decided_by: frozenset[int]  # who decided it in this round

    @property
    def satisfied(self) -> bool:
        return self.approvals >= self.needed


@dataclass(frozen=True)
class Refusal:
    """The last cancellation or rejection at a gate."""

    transition: str
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class BaselineFact:
    """The latest baseline's plan: what slip is measured against."""

    number: int
    taken_at: datetime
    start_date: date
    end_date: date
    phase_ends: dict[str, date | None]


@dataclass(frozen=True)
class Facts:
    phases: tuple[PhaseFact, ...]
    criteria: tuple[CriterionFact, ...]
    requirements: tuple[RequirementFact, ...]
    release_count: int
    releases_complete: int
    releases_without_accepted_turnover: int
    waiting_owners: tuple[Person, ...]  # owners of releases not development-complete
    engineers: tuple[Person, ...]  # assigned to deploy it
    last_refusal: Refusal | None
    baseline: BaselineFact | None = None  # the latest one; None before construction

    @property
    def incomplete_releases(self) -> int:
        return self.release_count - self.releases_complete

    @property
    def phases_without_end(self) -> list[str]:
        return [PhaseKind(p.kind).label for p in self.phases if p.planned_end is None]

    @property
    def gates_without_approvers(self) -> list[str]:
        gates = {r.gate for r in self.requirements}
        # The gates of the train's life; an exception gate is asked for only when needed.
        return [g.label for g in (Gate.DEVELOPMENT, Gate.EXECUTIVE) if g.value not in gates]

    def phase(self, kind: str) -> PhaseFact | None:
        return next((p for p in self.phases if p.kind == kind), None)


# Reading them ----------------------------------------------------------------------------

COLUMNS = (
    "facts_phases",
    "facts_criteria",
    "facts_requirements",
    "facts_releases",
    "facts_owners",
    "facts_engineers",
    "facts_refusal",
    "facts_baseline",
)
# What a glance at a train (its deadline and health: trains.status.train_glance) is
# computed from: the exit criteria's checks read the phases, the approvers and the
# releases too.
GLANCE_COLUMNS = (
    "facts_phases",
    "facts_criteria",
    "facts_requirements",
    "facts_releases",
    "facts_baseline",
)


def json_rows(rows: QuerySet, group_by: str, **fields) -> Subquery:
    """A JSON list of objects, one a row (`fields`: key -> expression or path)."""
    return Subquery(
        rows.order_by().values(group_by).annotate(j=JSONList(JSONObject(**fields))).values("j")[:1]
    )


def json_list(rows: QuerySet, **fields) -> Subquery:
    """A JSON list of objects, one for each of all the rows (no grouping; NULL for none)."""
    return Subquery(
        rows.order_by()
        .annotate(everything=Value(1, output_field=IntegerField()))  # groups nothing
        .values("everything")
        .annotate(j=JSONList(JSONObject(**fields)))
        .values("j")[:1]
    )


def with_facts(trains: QuerySet, columns: tuple[str, ...] = COLUMNS) -> QuerySet:
    """The trains with their facts (or those `columns` hold), as JSON columns of the
    same query.

    The columns are correlated subqueries that never change, so their SQL is built and
    compiled once a database (`_compiled`) and added as raw SQL: building them with the
    ORM on every request cost more than running them."""
    return trains.annotate(
        **{
            # bandit B611 accepted: the SQL is what the ORM compiled from the fixed expressions
            # of _fact_expressions; every value in it stays a parameter
            column: RawSQL(sql, params, output_field=JSONField())  # nosec B611
            for column, (sql, params) in _compiled().items()
            if column in columns
        }
    )


def _compiled() -> dict[str, tuple[str, tuple]]:
    """Each fact column's SQL and parameters, as the ORM compiles them for a query of
    trains (whose table keeps its own name, which the subqueries refer to)."""
    return once_a_database(("facts",), _compile_columns)


def _compile_columns() -> dict[str, tuple[str, tuple]]:
    from trains.models import ReleaseTrain

    query = _fact_expressions(ReleaseTrain.objects.all()).query
    compiler = query.get_compiler(connection=connection)
    compiled = {}
    for column in COLUMNS:
        sql, params = compiler.compile(query.annotations[column])
        compiled[column] = (sql, tuple(params))
    return compiled


FIXED_ROUND = 1  # ReleaseTrain.FIXED_ROUND: a gate outside the train's life has one round


def _fact_expressions(trains: QuerySet) -> QuerySet:
    """The fact columns as ORM expressions (compiled once by `_compiled`)."""
    from trains.models import Baseline, ExitCriterion, Phase, TrainEvent

    train = OuterRef("pk")
    this_round = (
        Q(requirement__gate=Gate.DEVELOPMENT, round=OuterRef("train__development_round"))
        | Q(requirement__gate=Gate.EXECUTIVE, round=OuterRef("train__executive_round"))
        | Q(requirement__gate=Gate.FREEZE_EXCEPTION, round=FIXED_ROUND)
    )

    def decisions(approve: bool) -> Coalesce:
        return Coalesce(
            Subquery(
                ApprovalDecision.objects.filter(this_round, requirement=OuterRef("pk"))
                .filter(approve=approve)
                .order_by()
                .values("requirement")
                .annotate(n=Count("id"))
                .values("n")[:1]
            ),
            0,
        )

    accepted = Turnover.objects.filter(release=OuterRef("pk"), state=TurnoverState.ACCEPTED)
    releases = ApplicationRelease.objects.filter(train=train)
    refusal = TrainEvent.objects.filter(train=train, transition__in=REFUSALS).order_by(
        "-created_at", "-id"
    )
    return trains.annotate(
        facts_phases=json_rows(
            Phase.objects.filter(train=train),
            "train",
            kind="kind",
            end="planned_end",
            started="actual_start",
            ended="actual_end",
        ),
        facts_criteria=json_rows(
            ExitCriterion.objects.filter(train=train),
            "train",
            id="id",
            phase="phase",
            text="description",
            required="required",
            rule="rule",
            due="due_date",
            met_at="met_at",
            by="met_by__username",
            by_first="met_by__first_name",
            by_last="met_by__last_name",
        ),
        facts_requirements=json_rows(
            ApprovalRequirement.objects.filter(train=train),
            "train",
            id="id",
            gate="gate",
            user="user_id",
            group="group_id",
            needed="required_approvals",
            username="user__username",
            first="user__first_name",
            last="user__last_name",
            group_name="group__name",
            approvals=decisions(True),
            rejections=decisions(False),
            decided_by=Subquery(
                ApprovalDecision.objects.filter(this_round, requirement=OuterRef("pk"))
                .order_by()
                .values("requirement")
                .annotate(j=JSONList("user_id"))
                .values("j")[:1]
            ),
        ),
        facts_releases=Subquery(
            releases.order_by()
            .values("train")
            .annotate(
                j=JSONObject(
                    total=Count("id"),
                    complete=Count("id", filter=Q(state=ReleaseState.DEVELOPMENT_COMPLETE)),
                    no_turnover=Count("id", filter=~Q(Exists(accepted))),
                )
            )
            .values("j")[:1]
        ),
        # each owner once, looked up by id: one row a release, joined to the applications,
        # took 70 µs a train where PostgreSQL scanned a small table for each release
        facts_owners=json_list(
            get_user_model().objects.filter(
                pk__in=ApplicationRelease.objects.filter(train=OuterRef(OuterRef("pk")))
                .exclude(state=ReleaseState.DEVELOPMENT_COMPLETE)
                .values("application__product_owner")
            ),
            id="id",
            username="username",
            first="first_name",
            last="last_name",
        ),
        facts_engineers=json_rows(
            ReleaseTrainEngineers().filter(releasetrain=train),
            "releasetrain",
            id="user_id",
            username="user__username",
            first="user__first_name",
            last="user__last_name",
        ),
        facts_refusal=Subquery(
            refusal.values(
                j=JSONObject(
                    transition="transition",
                    reason="message",
                    at="created_at",
                    username="actor__username",
                    first="actor__first_name",
                    last="actor__last_name",
                )
            )[:1]
        ),
        facts_baseline=Subquery(
            Baseline.objects.filter(train=train)
            .order_by("-number")
            .values(
                j=JSONObject(
                    number="number",
                    at="taken_at",
                    start="start_date",
                    end="end_date",
                    phases="phases",
                )
            )[:1]
        ),
    )


def ReleaseTrainEngineers() -> QuerySet:
    from trains.models import ReleaseTrain

    return ReleaseTrain.release_engineers.through.objects.all()


def facts_of(train: ReleaseTrain, columns: tuple[str, ...] = COLUMNS) -> Facts:
    """The train's facts: off the train when it was read `with_facts`, else one query;
    kept on the train until `forget`. Given a part of the columns (`GLANCE_COLUMNS`),
    the facts those hold, the others empty (the whole facts when they are kept)."""
    kept = train.__dict__.setdefault("_facts", {})
    for wanted in (COLUMNS, columns):
        if wanted in kept:
            return kept[wanted]
    if all(column in train.__dict__ for column in columns):
        row = {column: train.__dict__[column] for column in columns}
    else:
        from trains.models import ReleaseTrain

        row = with_facts(ReleaseTrain.objects.filter(pk=train.pk), columns).values(*columns).get()
    facts = kept[columns] = _parse(row)
    return facts


def forget(train: ReleaseTrain) -> None:
    """The train's facts changed: read them again when next asked."""
    train.__dict__.pop("_facts", None)
    for column in COLUMNS:
        train.__dict__.pop(column, None)


# From JSON --------------------------------------------------------------------------------


def parse_date(value) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def parse_moment(value) -> datetime | None:
    """A timestamp as PostgreSQL (ISO 8601 with offset) or SQLite (UTC, no offset)
    writes it into JSON."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _nested(value):
    """A JSON list inside a JSON object: SQLite hands it over as text."""
    return json.loads(value) if isinstance(value, str) else value


def _people(rows) -> tuple[Person, ...]:
    seen: dict[int, Person] = {}
    for row in rows or ():
        if row["id"] is not None and row["id"] not in seen:
            seen[row["id"]] = Person(
                row["id"], row["username"], person_name(row["first"], row["last"], row["username"])
            )
    return tuple(sorted(seen.values(), key=lambda p: p.name.lower()))


def _parse(row: dict) -> Facts:
    phases = sorted(
        (
            PhaseFact(
                PhaseKind(p["kind"]),
                parse_date(p["end"]),
                parse_moment(p["started"]),
                parse_moment(p["ended"]),
            )
            for p in row.get("facts_phases") or ()
        ),
        key=lambda p: PHASE_ORDER.index(p.kind),
    )
    criteria = sorted(
        (
            CriterionFact(
                pk=c["id"],
                phase=PhaseKind(c["phase"]),
                description=c["text"],
                required=bool(c["required"]),
                rule=c["rule"],
                due_date=parse_date(c["due"]),
                met_at=parse_moment(c["met_at"]),
                met_by=person_name(c["by_first"], c["by_last"], c["by"]) if c["by"] else "",
            )
            for c in row.get("facts_criteria") or ()
        ),
        key=lambda c: c.pk,
    )
    requirements = sorted(
        (
            RequirementFact(
                pk=r["id"],
                gate=r["gate"],
                label=(
                    person_name(r["first"], r["last"], r["username"])
                    if r["user"]
                    else group_approver_label(r["group_name"], r["needed"])
                ),
                user_id=r["user"],
                group_id=r["group"],
                needed=r["needed"],
                approvals=r["approvals"],
                rejections=r["rejections"],
                decided_by=frozenset(_nested(r["decided_by"]) or ()),
            )
            for r in row.get("facts_requirements") or ()
        ),
        key=lambda r: r.pk,
    )
    releases = row.get("facts_releases") or {}
    refusal = row.get("facts_refusal")
    baseline = row.get("facts_baseline")
    return Facts(
        phases=tuple(phases),
        criteria=tuple(criteria),
        requirements=tuple(requirements),
        release_count=releases.get("total", 0),
        releases_complete=releases.get("complete", 0),
        releases_without_accepted_turnover=releases.get("no_turnover", 0),
        waiting_owners=_people(row.get("facts_owners")),
        engineers=_people(row.get("facts_engineers")),
        last_refusal=(
            Refusal(
                transition=refusal["transition"],
                reason=refusal["reason"],
                by=(
                    person_name(refusal["first"], refusal["last"], refusal["username"])
                    if refusal["username"]
                    else ""
                ),
                at=parse_moment(refusal["at"]),
            )
            if refusal
            else None
        ),
        baseline=(
            BaselineFact(
                number=baseline["number"],
                taken_at=parse_moment(baseline["at"]),
                start_date=parse_date(baseline["start"]),
                end_date=parse_date(baseline["end"]),
                phase_ends={
                    kind: parse_date(end)
                    for kind, end in (_nested(baseline["phases"]) or {}).items()
                },
            )
            if baseline
            else None
        ),
    )
