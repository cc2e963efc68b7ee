"""Reads for the trains list: the trains a person sees, what each waits on, and which of
them wait for this person ("Needs my action")."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date
from functools import cached_property, reduce

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from approvals.models import Gate
from releasemgr.db import id_list
from trains import access, workflow
from trains.choices import OPEN_STATES
from trains.filters import Show, shown
from trains.models import ReleaseTrain
from trains.selectors.inbox import waiting_train_ids
from trains.status import TrainStatus, Waiting, read_for_status, statuses
from trains.workflow import STEPS


def train_list(*, user: AbstractBaseUser) -> QuerySet[ReleaseTrain]:
    """The trains the user may see, newest first: to filter, count and page through.
    `page_rows` reads a page of them with their status, `needs_my_action` the ones that
    wait for this person."""
    return (
        access.trains_visible_to(user)
        .select_related("primary_manager")
        .order_by("-start_date", "-id")
    )


@dataclass(frozen=True)
class ListRow:
    train: ReleaseTrain
    status: TrainStatus

    @property
    def my_move(self) -> str:
        """What this person can do now to move the train on, in words; empty when nothing.

        A step they may take now that is enabled and is the train's next step, or a
        requirement they may decide now (both from `train_status`). Cancelling is open to
        a manager at any time and moves nothing on: it never makes a train "need" anyone.
        """
        status = self.status
        for option in status.options:
            if option.enabled and option.step == status.next_step:
                return option.label
        if status.decidable:
            return f"Decide on {Gate(status.decidable[0].gate).label.lower()}"
        return ""

    @property
    def needs_me(self) -> bool:
        return bool(self.my_move)

    @property
    def blocked_by(self) -> tuple[Waiting, ...]:
        """What stands in the way of the next step, each with who can clear it; empty when
        nothing does (or the train is closed or cancelled)."""
        step = self.status.next_step
        if step is None or not workflow.unmet(self.train, step.name):
            return ()
        return self.status.waiting

    @property
    def ready_for(self) -> str:
        """Who may take the next step, when nothing blocks it."""
        if self.blocked_by or self.status.next_step is None:
            return ""
        return ", ".join(who for w in self.status.waiting for who in w.who)


def list_rows(trains, *, user: AbstractBaseUser) -> list[ListRow]:
    """Trains read `for_status`, each with its status (no query)."""
    trains = list(trains)
    return [ListRow(t, s) for t, s in zip(trains, statuses(trains, user), strict=True)]


# A tab pages through the first LIST_CAP trains in its order and says when it holds more:
# counting every train a person may see read them all (25 ms at 100,000 trains, on every
# visit of the tab), and a page far down skipped all the rows before it. Nobody pages to
# the thousandth train; the filters and the search find it.
LIST_CAP = 1_000


class CappedPaginator(Paginator):
    """Django's Paginator over a query of trains, counting up to LIST_CAP + 1 of them:
    `count` is at most LIST_CAP, and `more` says the query holds more than that."""

    @cached_property
    def _counted(self) -> int:
        return self.object_list.order_by().values("pk")[: LIST_CAP + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, LIST_CAP)

    @property
    def more(self) -> bool:
        return self._counted > LIST_CAP

    @property
    def more_label(self) -> str:
        """What the page says of the count when there are more."""
        if not self.more:
            return ""
        return (
            f"More than {LIST_CAP:,} trains: the pages hold the first {LIST_CAP:,} in the "
            "order shown. Filter or search to find the others; the CSV has them all."
        )


def page_rows(trains: QuerySet[ReleaseTrain], page, *, user: AbstractBaseUser) -> list[ListRow]:
    """The trains of one page of `trains` (a Paginator's page), each with its status:
    one query, which reads every row's facts and the user's rights with it
    (`for_status`); the count and the filters work on the plain query. The page's trains
    are picked in a subquery on the plain columns, so that only they are read with their
    facts: with the facts in the paged query itself, PostgreSQL built them for every row
    it skipped (the last of 4,000 pages took 78 s at 100,000 trains)."""
    if not page.paginator.count:
        return []
    bounds = slice(page.start_index() - 1, page.end_index())
    ordering = trains.query.order_by or trains.model._meta.ordering
    picked = trains.order_by(*ordering).values("pk")[bounds]
    shown = ReleaseTrain.objects.filter(pk__in=picked).order_by(*ordering)
    return list_rows(read_for_status(shown, user), user=user)


# Needs my action ---------------------------------------------------------------------------
#
# Whether a step is enabled comes from the exit criteria, whose automatic checks exist only
# in Python (trains.workflow); writing them again in SQL would be a second copy of the
# state table. So the database narrows the trains to those where this person could have
# something to do, from the same rules (the `may_<action>` columns of trains.access for
# the steps of trains.workflow, and the inbox's pending requirements), and `train_status`
# decides for each of those. For most people that is a handful of trains; for someone who
# may act on very many, the page checks the NEEDS_SCAN ending soonest and says so.

NEEDS_SCAN = 25

# The steps that move a train on and wait for a condition: each state's next step, when a
# person takes it (trains.status). Cancelling waits for nothing and moves nothing on.
_MOVING_STEPS = tuple(
    s for s in STEPS.values() if s.offered and s.action and (s.needs_criteria or s.needs_quorum)
)
# The states those steps leave, by the action that takes them: one condition an action.
_MOVING_SOURCES = {
    action: [state for s in _MOVING_STEPS if s.action == action for state in s.sources]
    for action in dict.fromkeys(s.action for s in _MOVING_STEPS)
}


@dataclass(frozen=True)
class Needs:
    rows: list[ListRow]  # most urgent first
    checked_all: bool  # False: more trains could need this person than were checked
    scanned: int  # how many trains it checks at most
    # (trains waiting for this person's decision, whether they ever decided), when they
    # were read: the navigation's count (request.inbox_summary), not asked again
    inbox: tuple[int, bool] | None = None

    @property
    def count_label(self) -> str:
        return f"{len(self.rows)}{'' if self.checked_all else '+'}"


def _might_need(user: AbstractBaseUser) -> tuple[Q | None, list[str], tuple[int, bool] | None]:
    """Trains this person might have something to do on now: in a state one of the moving
    steps leaves, which they may take (the `may_<action>` column of
    `access.with_permissions`, the rule on each row: the trains are read in deadline
    order and only the first few are looked at); or with a requirement waiting for their
    decision (their ids read once, `waiting_train_ids`, which also gives the navigation
    its count). None when nothing could be (no query needed), the actions whose columns
    it reads, and the navigation's (count, decided before) when read. It narrows the
    trains whose status is read, never decides: `ListRow.needs_me` does."""
    actions = [a for a in _MOVING_SOURCES if access.could_hold(user, a)]
    ways = [Q(state__in=_MOVING_SOURCES[a], **{f"may_{a}": True}) for a in actions]
    inbox = None
    if getattr(user, "may_have_inbox", True):  # read with the user (releasemgr.auth)
        waiting, decided_any = waiting_train_ids(user=user)
        inbox = (len(waiting), decided_any)
        if waiting:
            ways.append(Q(pk__in=id_list(waiting)))
    return (reduce(operator.or_, ways) if ways else None), actions, inbox


def _urgency(row: ListRow) -> tuple:
    status = row.status
    return (not status.overdue, status.deadline or date.max, row.train.name.lower(), row.train.pk)


def needs_my_action(trains: QuerySet[ReleaseTrain], *, user: AbstractBaseUser) -> Needs:
    """The trains of `trains` (a plain `train_list`, filtered or not) that wait for this person,
    overdue and nearest deadline first. One query, none for someone who cannot act: the
    candidates are picked in a subquery, so that only they are read with their facts."""
    condition, actions, inbox = _might_need(user)
    if condition is None:
        return Needs([], checked_all=True, scanned=NEEDS_SCAN, inbox=inbox)
    picked = (
        access.with_permissions(trains, user, *actions)
        .filter(condition)
        .order_by("end_date", "id")
        .values("pk")[: NEEDS_SCAN + 1]
    )
    # Compiled on its own, so that its train table keeps its name, as the rights columns
    # need (a subquery's tables are renamed); its ids, the column "pk" (a filter's
    # DISTINCT adds the ordering's columns beside it), are a subquery of the next query.
    try:
        sql, params = picked.query.sql_with_params()
    except EmptyResultSet:  # a filter no train can pass
        return Needs([], checked_all=True, scanned=NEEDS_SCAN, inbox=inbox)
    # bandit B608 and B611 accepted: the ORM's SQL inside a fixed SELECT; every value in
    # it stays a parameter
    picked_ids = RawSQL(f'SELECT "pk" FROM ({sql}) AS "picked"', params)  # nosec B608 B611
    candidates = read_for_status(
        ReleaseTrain.objects.filter(pk__in=picked_ids).order_by("end_date", "id"), user
    )
    rows = [r for r in list_rows(candidates[:NEEDS_SCAN], user=user) if r.needs_me]
    return Needs(
        sorted(rows, key=_urgency),
        checked_all=len(candidates) <= NEEDS_SCAN,
        scanned=NEEDS_SCAN,
        inbox=inbox,
    )


# Health ------------------------------------------------------------------------------------
#
# Health is computed from the status (trains.status), against today, so it cannot be a
# WHERE clause without a second copy of its rules: the open trains of the tab are read
# with their status, up to HEALTH_SCAN of them, soonest ending first, and kept when
# their health is the one asked for.

HEALTH_SCAN = 500


@dataclass(frozen=True)
class HealthRows:
    rows: list[ListRow]
    checked_all: bool
    scanned: int


def with_health(
    trains: QuerySet[ReleaseTrain], health: str, *, user: AbstractBaseUser
) -> HealthRows:
    """The open trains of `trains` whose health is `health`, in the list's order."""
    candidates = read_for_status(
        trains.filter(state__in=OPEN_STATES).order_by("end_date", "id"),
        user,
        limit=HEALTH_SCAN + 1,
    )
    rows = [r for r in list_rows(candidates[:HEALTH_SCAN], user=user) if r.status.health == health]
    rows.sort(key=lambda r: (-r.train.start_date.toordinal(), -r.train.pk))
    return HealthRows(rows, checked_all=len(candidates) <= HEALTH_SCAN, scanned=HEALTH_SCAN)


def trains_shown(
    trains: QuerySet[ReleaseTrain], *, show: Show, user: AbstractBaseUser
) -> QuerySet[ReleaseTrain]:
    """The trains of one tab of the list, as a query: what the CSV export of a tab holds."""
    if show != Show.NEEDS:
        return shown(trains, show)
    needs = needs_my_action(trains, user=user)
    return trains.filter(pk__in=[row.train.pk for row in needs.rows])
