"""Reads for the approval inbox: what waits for my decision, and what I decided."""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass
from functools import reduce

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from approvals.models import ApprovalDecision, ApprovalRequirement, Gate
from trains import access, workflow
from trains.access import Person
from trains.models import ReleaseTrain
from trains.status import TrainStatus, read_for_status, statuses


def _oldest_request_first(train: str = "") -> tuple:
    """Trains by how long they have waited: the gate that opened first, then by train;
    `train` the path to the train from the rows ordered ("train__")."""
    return (F(f"{train}gate_opened_at").asc(nulls_last=True), f"{train}id")


WAITING_ORDER = _oldest_request_first()  # trains
PENDING_ORDER = (*_oldest_request_first("train__"), "id")  # their requirements


def _waiting_at_each_gate(person: Person) -> list[Q]:
    """Per gate: requirements at that gate, on trains standing at it, not decided by this
    person in its current round (of those they may decide, `pending_requirements`)."""
    return [
        Q(gate=gate, train__state=state)
        & ~Q(
            Exists(
                ApprovalDecision.objects.filter(
                    requirement=OuterRef("pk"),
                    user=person.pk,
                    round=OuterRef(f"train__{ReleaseTrain.ROUND_FIELDS[gate]}")
                    if gate in ReleaseTrain.ROUND_FIELDS
                    else ReleaseTrain.FIXED_ROUND,
                )
            )
        )
        for gate, state in workflow.GATE_STATE.items()
    ]


def pending_requirements(*, user: AbstractBaseUser | Person) -> QuerySet[ApprovalRequirement]:
    """Requirements waiting for this user's decision: those they may decide
    (`access.decidable_requirements`) at a gate that is open, in its current round, and
    not decided by them yet. For a `Person` too (`access.compiled_for`).

    One read with the gates' conditions joined by OR: what the navigation counts, up to
    its cap, for which PostgreSQL walks the requirements and stops at the cap's train.
    `_waiting_rows` reads the same one gate at a time."""
    if not isinstance(user, Person) and not user.is_authenticated:
        return ApprovalRequirement.objects.none()
    person = Person.of(user)
    waiting = reduce(operator.or_, _waiting_at_each_gate(person))
    # No visibility filter needed: the approvers of a train may always see it.
    return access.decidable_requirements(person).filter(waiting).order_by(*PENDING_ORDER)


def _waiting_rows(person: Person, *columns: str, distinct: bool = False) -> QuerySet:
    """`columns` of the requirements waiting for this person's decision
    (`pending_requirements`), read one gate at a time; each value once if `distinct`.

    For reads of all of them (the inbox, the trains list): a condition on each (gate,
    state) pair cannot be taken to an index, and PostgreSQL read every requirement naming
    the person with every train at any gate (20,000 and 2,928 in the bench: 8 ms for an
    executive who had 51 trains waiting). A gate alone leads it to the trains at that
    gate, or to the requirements naming the person at that gate (indexed by approver and
    gate), whichever are fewer (0.4 ms)."""
    decidable = access.decidable_requirements(person)
    first, *rest = (
        decidable.filter(condition).order_by().values(*columns)
        for condition in _waiting_at_each_gate(person)
    )
    return first.union(*rest, all=not distinct)


def _waiting(user: AbstractBaseUser, column: str) -> RawSQL | list:
    """`column` of the requirements waiting for this user's decision, as a subquery
    (compiled once, `access.compiled_subquery`)."""
    return access.compiled_subquery(
        user, ("waiting", column), lambda person: _waiting_rows(person, column)
    )


# The navigation counts the trains waiting for a person's decision up to this many, then
# says "99+" (`badge`): counting them all read every requirement naming the person, 40 ms
# on every page at 100,000 trains; counting to a hundred stops at the hundredth.
BADGE_CAP = 99


def badge(n: int) -> int | str:
    """A count as the navigation shows it."""
    return f"{BADGE_CAP}+" if n > BADGE_CAP else n


def _and_decided_before(person: Person, waiting: QuerySet, summary: str) -> tuple[str, list]:
    """SQL of one row: `summary` over the `waiting` rows, and whether the person ever
    decided (what the navigation's Approvals link needs, `inbox_summary` and
    `waiting_train_ids`)."""
    sql, params = waiting.query.sql_with_params()
    decided, decided_params = (
        ApprovalDecision.objects.filter(user=person.pk).values("pk")[:1].query.sql_with_params()
    )
    # bandit B608 accepted: two queries the ORM compiled; every value stays a parameter
    select = f"SELECT (SELECT {summary} FROM ({sql}) AS waiting), EXISTS({decided})"  # nosec B608
    return select, [*params, *decided_params]


def inbox_summary(*, user: AbstractBaseUser) -> tuple[int, bool]:
    """(How many trains wait for this user's decision, counted up to BADGE_CAP + 1;
    whether they ever decided): what the navigation's Approvals link shows, in one query
    (compiled once, `access.compiled_for`: on every page, building it cost as much as
    running it)."""
    if not user.is_authenticated:
        return 0, False

    def compile_(person: Person) -> tuple[str, list]:
        trains = pending_requirements(user=person).order_by().values("train_id").distinct()
        return _and_decided_before(person, trains[: BADGE_CAP + 1], "COUNT(*)")

    with connection.cursor() as cursor:
        cursor.execute(*access.compiled_for(user, ("inbox summary", BADGE_CAP), compile_))
        n, decided_any = cursor.fetchone()
    return n or 0, bool(decided_any)


def waiting_train_ids(*, user: AbstractBaseUser) -> tuple[list[int], bool]:
    """The ids of every train waiting for this user's decision, and whether they ever
    decided, in one query: for a page that needs those trains (the trains list's needs
    tab), which then gives the navigation its count (`request.inbox_summary`) instead of
    its asking again. Not capped as `inbox_summary` is for the other pages."""
    if not user.is_authenticated:
        return [], False

    def compile_(person: Person) -> tuple[str, list]:
        listed = "ARRAY_AGG" if connection.vendor == "postgresql" else "JSON_GROUP_ARRAY"
        trains = _waiting_rows(person, "train_id", distinct=True)
        return _and_decided_before(person, trains, f"{listed}(train_id)")

    with connection.cursor() as cursor:
        cursor.execute(*access.compiled_for(user, ("waiting trains", "all"), compile_))
        ids, decided_any = cursor.fetchone()
    if isinstance(ids, str):  # SQLite's JSON list
        ids = json.loads(ids)
    return sorted(ids or ()), bool(decided_any)


@dataclass
class InboxItem:
    train: ReleaseTrain
    status: TrainStatus
    gate: str
    requirements: list[ApprovalRequirement]

    @property
    def gate_label(self) -> str:
        return Gate(self.gate).label

    @property
    def round(self) -> int:
        return self.train.round_for(self.gate)


# The inbox shows the trains that have waited longest for this person, this many at most:
# someone asked on every train (1,438 of the bench's 10,000) got a page of 2.7 MB in 1 s.
# Deciding on them brings the next ones up. One past the badge's cap, so that the page
# knows the navigation's count: what it shows, or more than the badge counts.
INBOX_LIMIT = BADGE_CAP + 1


@dataclass(frozen=True)
class Inbox:
    items: list[InboxItem]  # oldest request first, INBOX_LIMIT at most
    more: bool  # more trains wait after these

    @property
    def count(self) -> int:
        """The trains waiting, as the navigation's badge counts them (`inbox_summary`):
        exactly up to INBOX_LIMIT, one past the badge's cap."""
        return len(self.items) + self.more


def _first_waiting_trains(user: AbstractBaseUser, n: int) -> RawSQL | list:
    """The ids of the first `n` trains waiting for this user's decision, oldest request
    first (`WAITING_ORDER`), as a subquery: ordered and cut inside the reads a gate at a
    time. Picked from the trains table by their ids, PostgreSQL expected hundreds and
    read all 20,200 of the bench's trains for 51."""

    def compile_(person: Person) -> tuple[str, list] | None:
        rows = _waiting_rows(person, "train_id", "train__gate_opened_at", distinct=True)
        try:
            sql, params = rows.order_by(
                F("train__gate_opened_at").asc(nulls_last=True), "train_id"
            )[:n].query.sql_with_params()
        except EmptyResultSet:
            return None
        # bandit B608 accepted: the ORM's SQL inside a fixed SELECT; values stay parameters
        return f'SELECT "train_id" FROM ({sql}) AS "first"', params  # nosec B608

    bound = access.compiled_for(user, ("first waiting trains", n), compile_)
    # bandit B611 accepted: SQL the ORM compiled; every value in it stays a parameter
    return [] if bound is None else RawSQL(*bound)  # nosec B611


def inbox(*, user: AbstractBaseUser) -> Inbox:
    """The trains waiting longest for this person's decision (INBOX_LIMIT of them), oldest
    request first, each with its status (2 queries)."""
    # the first trains in that order, and one more to tell whether there are more
    first = _first_waiting_trains(user, INBOX_LIMIT + 1)
    pending = list(
        ApprovalRequirement.objects.filter(pk__in=_waiting(user, "pk"), train_id__in=first)
        .select_related("user", "group")
        .order_by(*PENDING_ORDER)
    )
    train_ids = list(dict.fromkeys(r.train_id for r in pending))
    more = len(train_ids) > INBOX_LIMIT
    train_ids = train_ids[:INBOX_LIMIT]
    trains = read_for_status(ReleaseTrain.objects.filter(pk__in=train_ids), user)
    status_of = {t.pk: (t, s) for t, s in zip(trains, statuses(trains, user), strict=True)}
    items: dict[int, InboxItem] = {}
    for requirement in pending:
        if requirement.train_id not in status_of:
            continue
        train, status = status_of[requirement.train_id]
        item = items.setdefault(train.pk, InboxItem(train, status, requirement.gate, []))
        item.requirements.append(requirement)
    return Inbox(list(items.values()), more)


def decided(*, user: AbstractBaseUser, limit: int = 50) -> list[ApprovalDecision]:
    return list(
        ApprovalDecision.objects.filter(
            user=user, requirement__train__in=access.trains_visible_to(user)
        )
        .select_related("requirement__train", "requirement__user", "requirement__group")
        .order_by("-decided_at", "-id")[:limit]
    )
