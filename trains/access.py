"""Who may see and do what with a train: one list of rules, and every form of it.

A rule says: a person who is tied to the train in one way (leads it, was granted view
on it, owns one of its releases, approves one of its gates, is assigned to deploy it…),
and who holds a role where the rule names one, may take an action. `RULES` is the whole
policy; everything below is generated from it, so the forms cannot disagree:

- `may(user, action, train)`: the check for one train (0 or 1 query);
- `trains_for(user, action)`: the set of trains, as one query (`by_row=True`: the same
  rule asked of each train other conditions pick);
- `with_permissions(trains, user, *actions)`: the batch form for lists, one boolean
  column an action on the list's own query, which `may` then reads;
- `users_who_may(train, action)` and `pairs(train_ids, action)`: who may, for one train
  or for many at once: the audience of a notification.

Deciding at a gate is a right over one approval requirement, not over the train:
`may_decide`, `decidable_requirements` and `deciders` are its forms, from `DECIDERS`;
`barred_from_deciding` names who may not decide though named (separation of duties).

A train someone may not see is a 404 to them, never a 403. Superusers may do everything
but are in no audience unless a rule names them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import reduce

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.db import connection
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import RawSQL
from django.http import Http404

from applications.models import ApplicationRelease
from approvals.models import ApprovalDecision, ApprovalRequirement, Gate
from releasemgr import roles
from releasemgr.db import MARK, Compiled, Template, id_list, once_a_database
from trains.choices import PhaseKind
from trains.models import (
    ReleaseTrain,
    ReleaseTrainGroupObjectPermission,
    ReleaseTrainUserObjectPermission,
)

User = AbstractBaseUser | AnonymousUser

# guardian's permissions on a train: what a release manager grants when sharing it
VIEW_PERM = "view_releasetrain"
MANAGE_PERM = "manage_releasetrain"

# The actions
VIEW = "view"
MANAGE = "manage"
DEPLOY = "deploy"
TICK_VERIFICATION = "tick_verification"  # tick the verification phase's manual criteria
ACTIONS = (VIEW, MANAGE, DEPLOY, TICK_VERIFICATION)


# How a person is tied to a train ---------------------------------------------------


@dataclass(frozen=True)
class Link:
    """Rows of one table that name a train (`train`, its id) and a person (`person`, a
    user id; or a group, whose members are meant, when `via_group`)."""

    name: str
    rows: Callable[[], QuerySet]
    train: str
    person: str
    via_group: bool = False

    @property
    def member(self) -> str:
        """The path from a row to each person it names."""
        return f"{self.person}__user" if self.via_group else self.person

    def names(self, person: Person) -> Q:
        """A row of this link names the person (by themselves, or by one of their groups)."""
        if self.via_group:
            # The person's groups as a list of ids (read with the user), not a join: a
            # shorter statement to plan, and index lookups.
            return Q(**{f"{self.person}_id__in": person.group_ids})
        return Q(**{self.person: person.pk})

    def rows_of(self, person: Person) -> QuerySet:
        return self.rows().filter(self.names(person))


@dataclass(frozen=True)
class Person:
    """Whom a condition names: a user's id and the ids of all their groups."""

    pk: int
    group_ids: tuple[int, ...]

    @classmethod
    def of(cls, user: AbstractBaseUser | Person) -> Person:
        if isinstance(user, Person):
            return user
        return cls(user.pk, tuple(sorted(roles.group_ids(user))))


def _granted(model, *codenames: str) -> Callable[[], QuerySet]:
    return lambda: model.objects.filter(permission__codename__in=codenames)


LEADS = Link("leads it", lambda: ReleaseTrain.objects.all(), "pk", "primary_manager")
GRANTED = Link(
    "was granted view or manage",
    _granted(ReleaseTrainUserObjectPermission, VIEW_PERM, MANAGE_PERM),
    "content_object_id",
    "user",
)
GRANTED_TO_GROUP = Link(
    "is in a group granted view or manage",
    _granted(ReleaseTrainGroupObjectPermission, VIEW_PERM, MANAGE_PERM),
    "content_object_id",
    "group",
    via_group=True,
)
GRANTED_MANAGE = Link(
    "was granted manage",
    _granted(ReleaseTrainUserObjectPermission, MANAGE_PERM),
    "content_object_id",
    "user",
)
GRANTED_MANAGE_TO_GROUP = Link(
    "is in a group granted manage",
    _granted(ReleaseTrainGroupObjectPermission, MANAGE_PERM),
    "content_object_id",
    "group",
    via_group=True,
)
OWNS_A_RELEASE = Link(
    "owns one of its application releases",
    lambda: ApplicationRelease.objects.all(),
    "train_id",
    "application__product_owner",
)
NAMED_APPROVER = Link(
    "is named as an approver",
    lambda: ApprovalRequirement.objects.filter(user__isnull=False),
    "train_id",
    "user",
)
APPROVER_GROUP = Link(
    "is in a group named as approver",
    lambda: ApprovalRequirement.objects.filter(group__isnull=False),
    "train_id",
    "group",
    via_group=True,
)
ASSIGNED_ENGINEER = Link(
    "is assigned to deploy it",
    lambda: ReleaseTrain.release_engineers.through.objects.all(),
    "releasetrain_id",
    "user",
)


def _no_engineer_assigned() -> Q:
    """A train with no assigned release engineer: any release engineer may deploy it."""
    assigned = ReleaseTrain.release_engineers.through.objects.filter(releasetrain=OuterRef("pk"))
    return ~Q(Exists(assigned))


# The policy ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Whoever is tied to the train by `link` (or may already `via` another action), holds
    `role` if one is named, and the train meets `when`, may take `action`."""

    action: str
    link: Link | None = None
    via: str | None = None
    role: str | None = None
    when: Callable[[], Q] | None = None


RULES: tuple[Rule, ...] = (
    Rule(VIEW, LEADS),
    Rule(VIEW, GRANTED),
    Rule(VIEW, GRANTED_TO_GROUP),
    Rule(VIEW, OWNS_A_RELEASE),
    Rule(VIEW, NAMED_APPROVER),
    Rule(VIEW, APPROVER_GROUP),
    Rule(VIEW, ASSIGNED_ENGINEER),
    # Release managers manage the trains they lead or were granted manage on.
    Rule(MANAGE, LEADS, role=roles.RELEASE_MANAGERS),
    Rule(MANAGE, GRANTED_MANAGE, role=roles.RELEASE_MANAGERS),
    Rule(MANAGE, GRANTED_MANAGE_TO_GROUP, role=roles.RELEASE_MANAGERS),
    # Its managers, its assigned engineers, or any release engineer who sees it when
    # none is assigned.
    Rule(DEPLOY, via=MANAGE),
    Rule(DEPLOY, ASSIGNED_ENGINEER, role=roles.RELEASE_ENGINEERS),
    Rule(DEPLOY, via=VIEW, role=roles.RELEASE_ENGINEERS, when=_no_engineer_assigned),
    # Managers tick any criterion; QA who see the train tick the verification phase's.
    Rule(TICK_VERIFICATION, via=MANAGE),
    Rule(TICK_VERIFICATION, via=VIEW, role=roles.QA),
)


@dataclass(frozen=True)
class Path:
    """One rule with its `via` chain followed: a link, the roles it needs, the train
    conditions it needs."""

    link: Link
    roles: frozenset[str] = frozenset()
    when: tuple[Callable[[], Q], ...] = field(default=())


def paths(action: str) -> list[Path]:
    """Every way to hold `action`, as links with their roles and conditions."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    found = []
    for rule in RULES:
        if rule.action != action:
            continue
        more_roles = frozenset([rule.role] if rule.role else [])
        more_when = (rule.when,) if rule.when else ()
        if rule.link is not None:
            found.append(Path(rule.link, more_roles, more_when))
        else:
            found += [
                Path(p.link, p.roles | more_roles, p.when + more_when) for p in paths(rule.via)
            ]
    return found


def _holds_roles(user: AbstractBaseUser, path: Path) -> bool:
    return all(roles.has_role(user, role) for role in path.roles)


def _row_condition(who: AbstractBaseUser | Person, path: Path) -> Q:
    """The path as a condition on a train row (index lookups on that train)."""
    person = Person.of(who)
    link = path.link
    if link is LEADS:
        condition = Q(primary_manager=person.pk)
    else:
        condition = Q(Exists(link.rows_of(person).filter(**{link.train: OuterRef("pk")})))
    for when in path.when:
        condition &= when()
    return condition


def _set_condition(user: AbstractBaseUser, path: Path) -> Q:
    """The path as a condition on the set of trains (one subquery of train ids, which
    names no outer table: compiled once, `compiled_subquery`)."""
    link = path.link
    if link is LEADS:
        condition = Q(primary_manager=user.pk)
    else:
        rows = compiled_subquery(
            user, ("rows", link.name), lambda p: link.rows_of(p).values(link.train)
        )
        condition = Q(pk__in=rows)
    for when in path.when:
        condition &= when()
    return condition


def _condition(user: User, action: str, form: Callable) -> Q | None:
    """The OR of the paths the user's roles allow; None when no path is open."""
    conditions = [form(user, p) for p in paths(action) if _holds_roles(user, p)]
    return reduce(operator.or_, conditions) if conditions else None


# One user, one train ----------------------------------------------------------------------


def _cache(train: ReleaseTrain) -> dict:
    return train.__dict__.setdefault("_access", {})


def may(user: User, action: str, train: ReleaseTrain) -> bool:
    """Whether the user may take `action` on this train.

    No query for a superuser, for a train's primary manager where leading it is enough,
    or for a train read by `with_permissions`; else one, remembered on the train.
    """
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cache = _cache(train)
    key = (user.pk, action)
    if key not in cache:
        annotated = getattr(train, f"may_{action}", None)
        if annotated is not None and train.__dict__.get("_access_user") == user.pk:
            cache[key] = bool(annotated)
        elif train.primary_manager_id == user.pk and any(
            p.link is LEADS and not p.when and _holds_roles(user, p) for p in paths(action)
        ):
            cache[key] = True
        else:
            cache[key] = trains_for(user, action, by_row=True).filter(pk=train.pk).exists()
    return cache[key]


def can_view(user: User, train: ReleaseTrain) -> bool:
    return may(user, VIEW, train)


def can_manage(user: User, train: ReleaseTrain) -> bool:
    return may(user, MANAGE, train)


def can_deploy(user: User, train: ReleaseTrain) -> bool:
    return may(user, DEPLOY, train)


def can_check_criterion(user: User, train: ReleaseTrain, phase: str) -> bool:
    """Managers tick any criterion; QA who see the train tick the verification phase's."""
    if phase == PhaseKind.VERIFICATION:
        return may(user, TICK_VERIFICATION, train)
    return may(user, MANAGE, train)


# One user, many trains ---------------------------------------------------------------------


def trains_for(user: User, action: str, *, by_row: bool = False) -> QuerySet[ReleaseTrain]:
    """The trains the user may take `action` on, as one query (no duplicate rows).

    The same rule in one of two plans. By default, for each way a person is tied to a
    train, the set of those trains' ids (`pk IN (…)`): best when the query reads many of
    the trains, as a list in some order does. `by_row=True` asks the rule of each train
    the rest of the query picks (index lookups on that train): best when other
    conditions pick few trains of many, as a calendar month's do; a person granted view
    on 10,000 trains makes the set plan read 20,000 rows first. Its rule is compiled SQL
    that names the train table, so a `by_row` query must be read as it is, never used as
    a subquery (whose tables Django renames)."""
    if not user.is_authenticated:
        return ReleaseTrain.objects.none()
    if user.is_superuser:
        return ReleaseTrain.objects.all()
    if by_row:
        column = _permission_column(user, action)
        if isinstance(column, Value):  # no path is open to this user's roles
            return ReleaseTrain.objects.none()
        return ReleaseTrain.objects.alias(may_by_row=column).filter(may_by_row=True)
    condition = _condition(user, action, _set_condition)
    return ReleaseTrain.objects.filter(condition) if condition else ReleaseTrain.objects.none()


def trains_visible_to(user: User) -> QuerySet[ReleaseTrain]:
    return trains_for(user, VIEW)


def trains_managed_by(user: User) -> QuerySet[ReleaseTrain]:
    return trains_for(user, MANAGE)


def could_hold(user: User, action: str) -> bool:
    """Whether the user's roles open any way to take `action` on some train (no query):
    False when `trains_for(user, action)` is sure to be empty."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or any(_holds_roles(user, p) for p in paths(action))


def with_permissions(trains: QuerySet, user: User, *actions: str) -> QuerySet:
    """The batch form for lists: a boolean column `may_<action>` an action, computed in
    the list's own query, which `may` reads instead of asking again.

    For a query of trains whose table keeps its own name (not a subquery), as
    `trains.facts.with_facts`: the columns are compiled once (`_permission_column`)."""
    columns = {}
    for action in actions:
        if not user.is_authenticated:
            condition = Value(False)
        elif user.is_superuser:
            condition = Value(True)
        else:
            condition = _permission_column(user, action)
        columns[f"may_{action}"] = ExpressionWrapper(condition, output_field=BooleanField())
    return trains.annotate(**columns)


def _permission_column(user: AbstractBaseUser, action: str) -> Value | RawSQL:
    """The rule for `action` as a column of a query of trains, for this user: compiled
    once a shape (`compiled_for`; a dashboard's four columns cost 12 ms a request to
    build with the ORM)."""
    opened = tuple(_holds_roles(user, p) for p in paths(action))

    def compile_(person: Person) -> tuple[str, list] | None:
        ways = zip(paths(action), opened, strict=True)
        conditions = [_row_condition(person, path) for path, open_ in ways if open_]
        if not conditions:
            return None
        condition = reduce(operator.or_, conditions)
        query = ReleaseTrain.objects.annotate(
            may=ExpressionWrapper(condition, output_field=BooleanField())
        ).query
        return query.get_compiler(connection=connection).compile(query.annotations["may"])

    bound = compiled_for(user, ("may", action, opened), compile_)
    # bandit B611 accepted: SQL the ORM compiled from RULES; every value stays a parameter
    return Value(False) if bound is None else RawSQL(*bound, output_field=BooleanField())  # nosec B611


def compiled_for(
    user: AbstractBaseUser, shape: tuple, compile_: Callable[[Person], tuple[str, list] | None]
) -> tuple[str, list] | None:
    """SQL about one person, as `compile_(person)` makes it, with this user's ids bound.

    Building such SQL with the ORM (a rule's subqueries, the inbox's pending
    requirements) costs more than running it, and it differs between people only in
    their ids, how many groups they are in and what `shape` says (which of a rule's
    paths their roles open): so it is compiled once a database and shape, for a
    stand-in person (`releasemgr.db.MARK`), and each person's ids take the stand-in's
    places among the parameters. `compile_` returns (SQL, parameters), or None when
    there is nothing to ask."""
    person = Person.of(user)
    groups = len(person.group_ids)

    def make() -> Template | None:
        stand_in = Person(MARK, tuple(MARK + 1 + n for n in range(groups)))
        compiled = compile_(stand_in)
        if compiled is None:
            return None
        return Template.of(compiled, (MARK, *stand_in.group_ids), each=False)

    template = once_a_database(("person", *shape, groups), make)
    return None if template is None else template.bind(person.pk, *person.group_ids)


def compiled_subquery(
    user: AbstractBaseUser, shape: tuple, rows: Callable[[Person], QuerySet]
) -> RawSQL | list:
    """`rows(person)`, a one-column `values()` query about a person, as a subquery for
    this user's `__in` (compiled once a shape, `compiled_for`); an empty list when it
    can select nothing (through a group, for someone in none)."""

    def compile_(person: Person) -> tuple[str, list] | None:
        try:
            return rows(person).order_by().query.sql_with_params()
        except EmptyResultSet:
            return None

    bound = compiled_for(user, shape, compile_)
    # bandit B611 accepted: SQL the ORM compiled; every value in it stays a parameter
    return [] if bound is None else RawSQL(*bound)  # nosec B611


def remember_permissions(train: ReleaseTrain, user: User) -> ReleaseTrain:
    """Say that `may_<action>` columns on this train were computed for this user."""
    train.__dict__["_access_user"] = user.pk
    return train


def get_train_for_user(
    user: User,
    pk: int,
    *,
    need: str = VIEW,
    also: Iterable[str] = (),
    queryset: QuerySet[ReleaseTrain] | None = None,
) -> ReleaseTrain:
    """The train, if the user may see it (else 404) and may `need` it (else 403).

    One query: the train with a column for each action asked (`need`, `also`), so that
    the page's later `may` checks cost nothing.
    """
    if not user.is_authenticated:
        raise Http404("No such train.")
    actions = list(dict.fromkeys([VIEW, need, *also]))
    trains = with_permissions(
        (queryset if queryset is not None else ReleaseTrain.objects).select_related(
            "primary_manager"
        ),
        user,
        *actions,
    )
    try:
        train = trains.get(pk=pk)
    except (ReleaseTrain.DoesNotExist, ValueError, TypeError):
        raise Http404("No such train.") from None
    remember_permissions(train, user)
    if not may(user, VIEW, train):
        raise Http404("No such train.")
    if not may(user, need, train):
        raise PermissionDenied(REFUSALS.get(need, "You may not do this."))
    return train


REFUSALS = {
    MANAGE: "Only the train's release managers can do this.",
    DEPLOY: "Only the train's release managers and engineers can deploy it.",
    TICK_VERIFICATION: "Only the train's release managers and QA can tick this.",
}


# Many people, one or many trains: audiences -----------------------------------------------


def _audience(
    train_ids: Iterable[int], action: str, *, role: str | None, among
) -> list[tuple[QuerySet, Link]]:
    """For each way to hold `action`: the rows naming these trains and the active people
    who hold it through them (and `role`, and are `among` these user ids, if given)."""
    trains = id_list(train_ids)
    parts = []
    for path in paths(action):
        link = path.link
        train_filter = {f"{link.train}__in": trains}
        if path.when:
            allowed = ReleaseTrain.objects.filter(pk__in=trains)
            for when in path.when:
                allowed = allowed.filter(when())
            train_filter = {f"{link.train}__in": allowed.values("pk")}
        # One filter() call: conditions on the person through a group must share the one
        # join to the group's members that the values read (a second call joins again).
        person = {f"{link.member}__is_active": True}
        wanted = sorted(path.roles | ({role} if role else set()))
        if among is not None or wanted:
            holders = get_user_model().objects.all()
            if among is not None:
                holders = holders.filter(pk__in=id_list(among))
            for needed in wanted:
                holders = holders.filter(groups__name=needed)
            person[f"{link.member}__in"] = holders.values("pk")
        rows = link.rows().filter(**train_filter, **person)
        parts.append((rows.order_by(), link))
    return parts


def pairs(
    train_ids: Iterable[int], action: str, *, role: str | None = None, among=None
) -> list[tuple[int, int]]:
    """(train id, user id) of the active people who may take `action` on each of these
    trains, for many trains in one query (a UNION ALL; pairs may repeat). `role` keeps
    only the holders of that role; `among` (user ids) only those people. The query's
    SQL is compiled once for each form (`Compiled`): asked on every change, building it
    cost more than running it."""
    key = (action, role, among is not None)
    if key not in _PAIRS:
        _PAIRS[key] = Compiled(
            lambda trains, people=None: _pairs_query(trains, action, role=role, among=people),
            slots=2 if among is not None else 1,
        )
    return _PAIRS[key].rows(train_ids, *([among] if among is not None else []))


_PAIRS: dict[tuple[str, str | None, bool], Compiled] = {}


def _pairs_query(train_ids, action: str, *, role: str | None, among) -> QuerySet:
    first, *rest = (
        rows.values_list(link.train, link.member)
        for rows, link in _audience(train_ids, action, role=role, among=among)
    )
    return first.union(*rest, all=True) if rest else first


def users_who_may(train: ReleaseTrain, action: str, *, role: str | None = None) -> QuerySet:
    """The active people who may take `action` on one train: their ids from `pairs`
    (compiled once; building the audience's query with the ORM took longer than running
    it, on every change that tells people), then the people."""
    ids = {user_id for _, user_id in pairs([train.pk], action, role=role)}
    return get_user_model().objects.filter(pk__in=id_list(ids))


def users_who_can_view(train: ReleaseTrain) -> QuerySet:
    return users_who_may(train, VIEW)


# Organisation-wide rights ---------------------------------------------------------------
# Not about one train: who keeps what holds for all of them. Each such right is held by
# staff and by the roles named here.

KEEP_FREEZES = "keep_freezes"  # add, change and remove freeze windows
ORGANISATION_RULES: dict[str, tuple[str, ...]] = {
    KEEP_FREEZES: (roles.RELEASE_MANAGERS,),
}


def may_organisation(user: User, action: str) -> bool:
    """Whether the user holds an organisation-wide right (no query: roles are read with
    the user)."""
    if action not in ORGANISATION_RULES:
        raise ValueError(f"unknown organisation-wide action {action!r}")
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    return any(roles.has_role(user, role) for role in ORGANISATION_RULES[action])


def may_keep_freezes(user: User) -> bool:
    return may_organisation(user, KEEP_FREEZES)


# Deciding at a gate -------------------------------------------------------------------------

DECIDERS = (NAMED_APPROVER, APPROVER_GROUP)
# Separation of duties: at these gates, the train's person in this field may not decide,
# even when a requirement names them (by name or through a group).
BARRED = {Gate.EXECUTIVE: "primary_manager", Gate.FREEZE_EXCEPTION: "primary_manager"}
SEPARATION_OF_DUTIES = (
    "The train's primary release manager may not give its executive approval or freeze exception."
)


def barred_from_deciding(train: ReleaseTrain, gate: str) -> frozenset[int]:
    """The people who may not decide at this gate of this train even when a requirement
    names them (separation of duties): the primary release manager at the executive
    gate (`BARRED`). `SEPARATION_OF_DUTIES` says why."""
    who = BARRED.get(gate)
    barred = getattr(train, f"{who}_id") if who else None
    return frozenset([barred]) if barred is not None else frozenset()


def _decides(person: Person) -> Q:
    """Requirements that ask for this person: by name or through one of their groups.
    A train's primary release manager is not asked for its executive approval."""
    named = reduce(operator.or_, (link.names(person) for link in DECIDERS))
    for gate, who in BARRED.items():
        named &= ~Q(gate=gate, **{f"train__{who}": person.pk})
    return named


def decidable_requirements(user: User | Person) -> QuerySet[ApprovalRequirement]:
    """Every approval requirement this user (or person, `compiled_for`) may decide, open
    or not."""
    if not isinstance(user, Person) and not user.is_authenticated:
        return ApprovalRequirement.objects.none()
    return ApprovalRequirement.objects.filter(_decides(Person.of(user)))


def names_an_approver(user_id: int) -> Q:
    """For the query that reads the user (releasemgr.auth): some requirement names the
    user (by name or through a group), or the user has decided before. Only such people
    can have anything to decide or have decided: the others need no inbox query.

    Asked on every page, for everyone; each test is a look-up in an index, also for the
    many who are no approver: the user's id is a value here (the planner reads it,
    `planned_each_time`), and a group's requirements are looked up a group of the user's.
    Written as one test over the requirements through the user's groups, it read all the
    requirements and decisions for them: 8.7 ms of every page at 40,000 requirements."""
    groups = get_user_model().groups.through.objects.filter(user_id=user_id)
    named_group = ApprovalRequirement.objects.filter(group_id=OuterRef("group_id"))
    return (
        Q(Exists(ApprovalRequirement.objects.filter(user_id=user_id)))
        | Q(Exists(groups.filter(Exists(named_group))))
        | Q(Exists(ApprovalDecision.objects.filter(user_id=user_id)))
    )


def asks_for(user: User, requirement: ApprovalRequirement) -> bool:
    """Whether the requirement names this user, by name or by one of their groups."""
    if not user.is_authenticated:
        return False
    if requirement.user_id is not None:
        return requirement.user_id == user.pk
    return requirement.group_id in roles.group_ids(user)


def may_decide(user: User, requirement: ApprovalRequirement, train: ReleaseTrain) -> bool:
    """Whether the user may decide this requirement (no query): it asks for them, and
    they do not lead the train when the gate is the executive one."""
    return asks_for(user, requirement) and user.pk not in barred_from_deciding(
        train, requirement.gate
    )


def deciders(train: ReleaseTrain, gate: str) -> QuerySet:
    """The active people who may decide at this gate of this train, in one query."""
    requirements = ApprovalRequirement.objects.filter(train=train, gate=gate)
    people = get_user_model().objects.filter(
        reduce(
            operator.or_,
            (
                Q(pk__in=requirements.filter(pk__in=link.rows().values("pk")).values(link.member))
                for link in DECIDERS
            ),
        ),
        is_active=True,
    )
    return people.exclude(pk__in=barred_from_deciding(train, gate))


def decider_pairs(pairs_wanted: set[tuple[int, str]]) -> list[tuple[tuple[int, str], int]]:
    """((train id, gate), user id) of the active people who may decide at each of these
    gates, for many trains in one query."""
    requirements = ApprovalRequirement.objects.filter(
        train_id__in=id_list(t for t, _ in pairs_wanted),
        gate__in={g for _, g in pairs_wanted},
    ).order_by()
    barred = sorted(set(BARRED.values()))
    # One filter() call: the condition on a group's members and the values read share
    # the one join to them.
    parts = [
        requirements.filter(
            pk__in=link.rows().values("pk"), **{f"{link.member}__is_active": True}
        ).values_list("train_id", "gate", link.member, *(f"train__{f}" for f in barred))
        for link in DECIDERS
    ]
    first, *rest = parts
    found = []
    for train_id, gate, user_id, *people in first.union(*rest, all=True):
        who = BARRED.get(gate)
        if who and user_id == dict(zip(barred, people, strict=True))[who]:
            continue  # barred_from_deciding, for many trains at once
        if (train_id, gate) in pairs_wanted:
            found.append(((train_id, gate), user_id))
    return found


# Templates and schedules ----------------------------------------------------------------


def may_create_trains(user: User) -> bool:
    """Release managers submit trains: from scratch, like another train, or from a
    template. The templates and their schedules are theirs, as a team: any release
    manager may see, use and change them (each change is in the template's history)."""
    return roles.has_role(user, roles.RELEASE_MANAGERS)


# Pages across trains --------------------------------------------------------------------------

# Who reads the delivery metrics (of the trains they may see); everyone signed in sees the
# portfolio of the trains they may see.
METRICS_ROLES = (roles.RELEASE_MANAGERS, roles.EXECUTIVES)


def may_see_metrics(user: User) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_superuser or any(roles.has_role(user, role) for role in METRICS_ROLES)
