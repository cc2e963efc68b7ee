"""Reads for the metrics page: how trains landed over a period, across the trains a
person may see.

Every figure is an aggregation in the database (no train is loaded to be counted): one
query counts by month (on-time phases, deployment attempts and failures, closed and
emergency trains, rejections), one ranks the durations for their medians and 90th
percentiles (`releasemgr.db.spreads`), one ranks the approvers by how long they kept a
gate waiting, and one reads the rejections' reasons for their words. Each figure's rows
are one queryset (`ROWS`), which the figure is computed from and the CSV lists.

The page and the API show the figures as last computed (`metrics_snapshot`) while nothing
they depend on has changed: the same trains, period and time zone, no newer history row,
decision or deployment anywhere, and for SNAPSHOT_SECONDS at most; else they compute them.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Avg,
    BooleanField,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Greatest, TruncDate, TruncMonth
from django.utils import timezone

from approvals.models import ApprovalDecision, Gate
from releasemgr.db import DaysBetween, Spread, spreads
from releasemgr.people import person_name
from releasemgr.roles import group_label
from trains.choices import PHASE_ORDER, TrainState, TrainType
from trains.models import Deployment, Phase, ReleaseTrain, TrainEvent
from trains.workflow import GATE_STATE

DEFAULT_DAYS = 90
ALL = "*"  # a spread's key for all phase kinds, gates or types together
# The gates a train waits at between phases (a freeze exception is no stage of its own).
STAGE_GATES = [g for g in Gate if g in GATE_STATE and g in ReleaseTrain.ROUND_FIELDS]
TOP_APPROVERS = 8
TOP_WORDS = 8

# Words too common to say anything about why a train was rejected.
_COMMON = """a an and are as at be been but by for from has have in into is it its no not of on
or our so than that the their them then there these this to too was we were what when which
will with yet you"""
STOP_WORDS = frozenset(_COMMON.split())


@dataclass(frozen=True)
class Period:
    """The days a page looks at, first and last included."""

    first: date
    last: date

    @classmethod
    def default(cls) -> Period:
        today = timezone.localdate()
        return cls(today - timedelta(days=DEFAULT_DAYS - 1), today)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self, column: str) -> Q:
        """Moments inside the period, as a range an index can serve."""
        tz = timezone.get_current_timezone()
        start = timezone.make_aware(datetime.combine(self.first, time.min), tz)
        end = timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min), tz)
        return Q(**{f"{column}__gte": start, f"{column}__lt": end})

    def months(self) -> list[date]:
        month, months = self.first.replace(day=1), []
        while month <= self.last:
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return months


# The rows each figure is computed from ----------------------------------------------------


def ended_phases(trains: QuerySet, period: Period) -> QuerySet:
    """Phases with a planned end that ended in the period; `slip` is the days past the
    planned end (0 when on or before it)."""
    return (
        Phase.objects.filter(
            period.bounds("actual_end"), train__in=trains.values("pk"), planned_end__isnull=False
        )
        .annotate(
            ended_on=TruncDate("actual_end"),
            slip=Greatest(DaysBetween(F("planned_end"), TruncDate("actual_end")), Value(0.0)),
        )
        .order_by()
    )


def gate_rounds(trains: QuerySet, period: Period, gate: str) -> QuerySet:
    """This gate's rounds decided in the period, one row each: when the round opened
    (`requested_at`), its last decision — the one that passed or rejected it
    (`decided_at`) — and the days between (`wait`). A round still open is left out."""
    this_round = F(f"requirement__train__{ReleaseTrain.ROUND_FIELDS[gate]}")
    still_open = Q(requirement__train__state=GATE_STATE[gate], round=this_round)
    return (
        _decided(trains, period)
        .filter(requirement__gate=gate)
        .exclude(still_open)
        .values("requirement__train", "requirement__train__name", "round")
        .annotate(
            requested=Min("requested_at"),
            decided=Max("decided_at"),
            wait=DaysBetween(Min("requested_at"), Max("decided_at")),
        )
        .order_by()
    )


def _decided(trains: QuerySet, period: Period) -> QuerySet:
    return ApprovalDecision.objects.filter(
        period.bounds("decided_at"), requirement__train__in=trains.values("pk")
    ).order_by()


def decisions(trains: QuerySet, period: Period) -> QuerySet:
    """Approval decisions made in the period, each with the days it waited (`wait`)."""
    return _decided(trains, period).annotate(wait=DaysBetween(F("requested_at"), F("decided_at")))


def closed_trains(trains: QuerySet, period: Period) -> QuerySet:
    """Trains deployed (closed) in the period; `lead` is days from submitted to closed."""
    return (
        trains.filter(period.bounds("closed_at"), state=TrainState.CLOSED)
        .annotate(lead=DaysBetween(F("created_at"), F("closed_at")))
        .order_by()
    )


def deployments(trains: QuerySet, period: Period) -> QuerySet:
    """Deployment attempts made in the period."""
    return Deployment.objects.filter(
        period.bounds("attempted_at"), train__in=trains.values("pk")
    ).order_by()


def restores(trains: QuerySet, period: Period) -> QuerySet:
    """Failed attempts whose train was deployed in the period, each with the days from
    the failure to that success (`restore`)."""
    success = Deployment.objects.filter(train=OuterRef("train"), succeeded=True)
    return (
        Deployment.objects.filter(train__in=trains.values("pk"), succeeded=False)
        .annotate(restored_at=Subquery(success.values("attempted_at")[:1]))
        .filter(period.bounds("restored_at"))
        .annotate(restore=DaysBetween(F("attempted_at"), F("restored_at")))
        .order_by()
    )


def rejections(trains: QuerySet, period: Period) -> QuerySet:
    return decisions(trains, period).filter(approve=False)


# The figures ----------------------------------------------------------------------------------


@dataclass
class MonthCount:
    month: date
    total: int
    hits: int

    @property
    def rate(self) -> float | None:
        return self.hits / self.total if self.total else None


@dataclass
class Approver:
    gate: str
    name: str
    decisions: int
    mean_days: float
    longest_days: float


@dataclass
class Metrics:
    period: Period
    months: list[date]
    # on time: (phase kind) -> month -> count of ended phases, of them on time
    on_time: dict[str, dict[date, MonthCount]] = field(default_factory=dict)
    slip: dict[str, Spread] = field(default_factory=dict)  # phase kind ->
    approval_wait: dict[str, Spread] = field(default_factory=dict)  # gate ->
    approvers: list[Approver] = field(default_factory=list)  # the longest waits first
    lead_time: dict[str, Spread] = field(default_factory=dict)  # train type ->
    deployments: dict[date, MonthCount] = field(default_factory=dict)  # attempts, failures
    restore: Spread | None = None
    rejections: dict[str, dict[date, MonthCount]] = field(default_factory=dict)  # gate ->
    rejection_words: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    closed: dict[date, MonthCount] = field(default_factory=dict)  # closed, emergencies
    overall: dict[str, Spread] = field(default_factory=dict)  # slip, wait, lead: all keys
    computed_at: datetime = field(default_factory=timezone.now, compare=False)

    @staticmethod
    def _sum(counts) -> tuple[int, int]:
        counts = list(counts)
        return sum(c.total for c in counts), sum(c.hits for c in counts)

    def on_time_total(self, kind: str | None = None) -> tuple[int, int]:
        """(ended, on time), for one phase kind or all."""
        kinds = [kind] if kind else list(self.on_time)
        return self._sum(c for k in kinds for c in self.on_time.get(k, {}).values())

    def on_time_by_month(self) -> list[MonthCount]:
        return [
            MonthCount(
                m, *self._sum(self.on_time[k][m] for k in self.on_time if m in self.on_time[k])
            )
            for m in self.months
        ]

    def deployment_total(self) -> tuple[int, int]:
        """(attempts, failures)"""
        return self._sum(self.deployments.values())

    def closed_total(self) -> tuple[int, int]:
        """(closed, emergencies)"""
        return self._sum(self.closed.values())

    def rejection_total(self, gate: str | None = None) -> int:
        gates = [gate] if gate else list(self.rejections)
        return sum(c.total for g in gates for c in self.rejections.get(g, {}).values())


def _month(value) -> date:
    """A month as TruncMonth returns it (a date or an aware datetime) as its first day."""
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


def _counted(rows: QuerySet, metric: str, key, moment: str, hits: Q | None) -> QuerySet:
    """Rows counted by month: (metric, key, month, how many, how many of them are hits)."""
    hit = Count("pk", filter=hits) if hits is not None else Value(0, output_field=IntegerField())
    return rows.values(
        metric=Value(metric, output_field=CharField()),
        key=Cast(key, output_field=CharField()),
        month=TruncMonth(moment),
    ).annotate(n=Count("pk"), hits=hit)


def _spread_rows(rows: QuerySet, metric: str, key, value: str) -> QuerySet:
    return rows.values(
        metric=Value(metric, output_field=CharField()),
        key=Cast(key, output_field=CharField()),
        v=Cast(value, output_field=FloatField()),
    )


def metrics(*, trains: QuerySet[ReleaseTrain], period: Period) -> Metrics:
    """The figures for these trains over the period, in four queries."""
    result = Metrics(period=period, months=period.months())
    none = Value("", output_field=CharField())

    counted = _counted(
        ended_phases(trains, period),
        "on_time",
        F("kind"),
        "actual_end",
        Q(ended_on__lte=F("planned_end")),
    ).union(
        _counted(deployments(trains, period), "deploy", none, "attempted_at", Q(succeeded=False)),
        _counted(
            closed_trains(trains, period),
            "closed",
            none,
            "closed_at",
            Q(train_type=TrainType.EMERGENCY),
        ),
        _counted(
            rejections(trains, period), "rejected", F("requirement__gate"), "decided_at", None
        ),
        all=True,
    )
    for metric, key, month, n, hits in counted.values_list("metric", "key", "month", "n", "hits"):
        count = MonthCount(_month(month), n, hits)
        if metric == "on_time":
            result.on_time.setdefault(key, {})[count.month] = count
        elif metric == "deploy":
            result.deployments[count.month] = count
        elif metric == "closed":
            result.closed[count.month] = count
        else:
            result.rejections.setdefault(key, {})[count.month] = count
    result.on_time = {k: result.on_time[k] for k in PHASE_ORDER if k in result.on_time}

    durations = _spread_rows(ended_phases(trains, period), "slip", F("kind"), "slip").union(
        *(
            _spread_rows(gate_rounds(trains, period, gate), "wait", Value(gate), "wait")
            for gate in STAGE_GATES
        ),
        _spread_rows(closed_trains(trains, period), "lead", F("train_type"), "lead"),
        _spread_rows(restores(trains, period), "restore", none, "restore"),
        all=True,
    )
    found = spreads(durations, overall=("slip", "wait", "lead"))
    for (metric, key), spread in sorted(found.items()):
        if key == ALL:
            result.overall[metric] = spread
        elif metric == "slip":
            result.slip[key] = spread
        elif metric == "wait":
            result.approval_wait[key] = spread
        elif metric == "lead":
            result.lead_time[key] = spread
        else:
            result.restore = spread
    result.slip = {k: result.slip[k] for k in PHASE_ORDER if k in result.slip}
    result.lead_time = {t: result.lead_time[t] for t in TrainType if t in result.lead_time}

    result.approvers = longest_waits(trains, period)
    result.rejection_words = rejection_words(trains, period)
    return result


# The figures as last computed ------------------------------------------------------------------
#
# Two years of 10,000 trains take 0.4 s to count and rank (bench/RESULTS.md, the fresh
# metrics); people open the page again and again, and several see the same trains. The
# figures are kept, under a key that names all they are computed from, so that a change
# to any of it computes them again: which trains (every id), the period and the time zone,
# and the newest history row, decision and deployment. Every change a service makes to a
# train writes a history row (trains.services.common.record); what changes without one
# (a person's or group's name, an edit in the Django admin) shows within SNAPSHOT_SECONDS.

SNAPSHOT_SECONDS = 15 * 60


def _snapshot_key(trains: QuerySet, period: Period) -> str | None:
    """The key of the figures of these trains over the period (one query); None when the
    filters let no train through."""
    try:
        inner, params = (
            trains.order_by().annotate(counted_id=F("pk")).values("counted_id").query
        ).sql_with_params()
    except EmptyResultSet:
        return None
    listed = (
        "STRING_AGG(CAST(counted_id AS TEXT), ',')"
        if connection.vendor == "postgresql"
        else "GROUP_CONCAT(counted_id)"
    )
    # bandit B608 accepted: the models' own table names, and below the ORM's SQL; every
    # value stays a parameter
    newest = ", ".join(
        f"(SELECT MAX(id) FROM {model._meta.db_table})"  # nosec B608
        for model in (TrainEvent, ApprovalDecision, Deployment)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {listed}, {newest} FROM ({inner}) AS counted", params)  # nosec B608
        ids, *newest_ids = cursor.fetchone()
    counted = ",".join(map(str, sorted({int(i) for i in (ids or "").split(",") if i})))
    return ":".join(
        [
            "metrics",
            f"{period.first}",
            f"{period.last}",
            timezone.get_current_timezone_name(),
            hashlib.sha256(counted.encode()).hexdigest(),
            *map(str, newest_ids),
        ]
    )


def metrics_snapshot(
    *, trains: QuerySet[ReleaseTrain], period: Period, recompute: bool = False
) -> Metrics:
    """The figures for these trains over the period as last computed, while nothing they
    depend on has changed (see above); computed now when it has, when they are older than
    SNAPSHOT_SECONDS, or when asked to `recompute`. `computed_at` says when."""
    key = _snapshot_key(trains, period)
    if key is not None and not recompute:
        kept = cache.get(key)
        if kept is not None:
            return kept
    figures = metrics(trains=trains, period=period)
    if key is not None:
        cache.set(key, figures, SNAPSHOT_SECONDS)
    return figures


def longest_waits(trains: QuerySet, period: Period, *, top: int = TOP_APPROVERS) -> list[Approver]:
    """Who the longest waits sat with: each approval requirement's approver (a person, or
    a group) by the longest a decision of theirs kept a gate waiting."""
    rows = (
        decisions(trains, period)
        .values(
            "requirement__gate",
            "requirement__user__username",
            "requirement__user__first_name",
            "requirement__user__last_name",
            "requirement__group__name",
        )
        .annotate(n=Count("pk"), mean=Avg("wait"), longest=Max("wait"))
        .order_by("-longest", "requirement__gate", "requirement__user__username")[:top]
    )
    return [
        Approver(
            gate=row["requirement__gate"],
            name=(
                person_name(
                    row["requirement__user__first_name"],
                    row["requirement__user__last_name"],
                    row["requirement__user__username"],
                )
                if row["requirement__user__username"]
                else f"group {group_label(row['requirement__group__name'])}"
            ),
            decisions=row["n"],
            mean_days=row["mean"],
            longest_days=row["longest"],
        )
        for row in rows
    ]


WORD = re.compile(r"[a-z][a-z'-]{2,}")


def rejection_words(
    trains: QuerySet, period: Period, *, top: int = TOP_WORDS
) -> dict[str, list[tuple[str, int]]]:
    """The words most often given as reasons for rejecting, per gate (common words left
    out), each counted once a reason."""
    words: dict[str, Counter] = {}
    for gate, comment in rejections(trains, period).values_list("requirement__gate", "comment"):
        seen = {w.strip("'-") for w in WORD.findall(comment.lower())} - STOP_WORDS
        words.setdefault(gate, Counter()).update(w for w in seen if len(w) > 2)
    return {
        gate: sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:top]
        for gate, counter in sorted(words.items())
    }


# The rows behind each figure, for its CSV ---------------------------------------------------


@dataclass(frozen=True)
class Rows:
    title: str
    header: tuple[str, ...]
    rows: Callable[[QuerySet, Period], QuerySet]
    columns: tuple[str, ...]


def _gate_rows(trains: QuerySet, period: Period) -> QuerySet:
    first, *rest = (
        gate_rounds(trains, period, gate).annotate(gate=Value(gate, output_field=CharField()))
        for gate in STAGE_GATES
    )
    return first.union(*rest, all=True).order_by("decided")


ROWS: dict[str, Rows] = {
    "on-time": Rows(
        "Phases ended",
        ("train id", "train", "phase", "planned end", "ended", "days late", "on time"),
        lambda t, p: ended_phases(t, p).annotate(
            on_time=ExpressionWrapper(Q(ended_on__lte=F("planned_end")), BooleanField())
        ),
        ("train_id", "train__name", "kind", "planned_end", "ended_on", "slip", "on_time"),
    ),
    "approval-wait": Rows(
        "Gate rounds decided",
        ("train id", "train", "round", "requested", "decided", "days waited", "gate"),
        _gate_rows,
        (
            "requirement__train",
            "requirement__train__name",
            "round",
            "requested",
            "decided",
            "wait",
            "gate",
        ),
    ),
    "approvers": Rows(
        "Approval decisions",
        (
            "train id",
            "train",
            "gate",
            "approver",
            "group",
            "approved",
            "requested",
            "decided",
            "days waited",
        ),
        lambda t, p: decisions(t, p).order_by("decided_at"),
        (
            "requirement__train_id",
            "requirement__train__name",
            "requirement__gate",
            "user__username",
            "requirement__group__name",
            "approve",
            "requested_at",
            "decided_at",
            "wait",
        ),
    ),
    "lead-time": Rows(
        "Trains closed",
        ("train id", "train", "type", "submitted", "closed", "lead time (days)"),
        lambda t, p: closed_trains(t, p).order_by("closed_at"),
        ("pk", "name", "train_type", "created_at", "closed_at", "lead"),
    ),
    "deployments": Rows(
        "Deployment attempts",
        ("train id", "train", "attempted", "succeeded"),
        lambda t, p: deployments(t, p).order_by("attempted_at"),
        ("train_id", "train__name", "attempted_at", "succeeded"),
    ),
    "restore": Rows(
        "Failed attempts and their restore",
        ("train id", "train", "failed", "restored", "days to restore"),
        lambda t, p: restores(t, p).order_by("attempted_at"),
        ("train_id", "train__name", "attempted_at", "restored_at", "restore"),
    ),
    "rejections": Rows(
        "Rejections",
        ("train id", "train", "gate", "by", "decided", "reason"),
        lambda t, p: rejections(t, p).order_by("decided_at"),
        (
            "requirement__train_id",
            "requirement__train__name",
            "requirement__gate",
            "user__username",
            "decided_at",
            "comment",
        ),
    ),
    "emergency-share": Rows(
        "Trains closed",
        ("train id", "train", "type", "closed"),
        lambda t, p: closed_trains(t, p).order_by("closed_at"),
        ("pk", "name", "train_type", "closed_at"),
    ),
}


def metric_rows(name: str, *, trains: QuerySet, period: Period) -> QuerySet:
    """The rows one figure was computed from, as tuples in its CSV's columns."""
    spec = ROWS[name]
    return spec.rows(trains, period).values_list(*spec.columns)


__all__ = [
    "DEFAULT_DAYS",
    "ROWS",
    "Approver",
    "Metrics",
    "MonthCount",
    "Period",
    "metric_rows",
    "metrics",
    "metrics_snapshot",
]
