"""Set-based reads and writes the ORM has no word for, on PostgreSQL and SQLite alike."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Aggregate, FloatField, Func, JSONField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from psycopg.pq import TransactionStatus


def id_list(ids: Iterable[int]) -> RawSQL:
    """Many ids as one parameter, for `field__in=id_list(ids)`: a SELECT of an array
    (PostgreSQL) or of a JSON list (SQLite), where `__in=[...]` would send one parameter
    an id and make the statement as long as the list."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [_ids_param(ids)])
    return RawSQL("SELECT value FROM json_each(%s)", [_ids_param(ids)])


def _ids_param(ids: Iterable[int]) -> list[int] | str:
    ids = sorted(set(ids))
    return ids if connection.vendor == "postgresql" else json.dumps(ids)


def first_rows(rows: QuerySet, n: int) -> tuple[list, bool]:
    """The first `n` rows of a query and whether it holds more (one row more is read to
    tell): how a page bounded by what it shows reads what it shows."""
    picked = list(rows[: n + 1])
    return picked[:n], len(picked) > n


_ONCE: dict[tuple, object] = {}


def once_a_database(key: tuple, make: Callable[[], object]):
    """What `make()` returns, made once a process for the current database (its alias and
    vendor) and `key`: SQL that the ORM compiles the same every time, which costs
    milliseconds to build and compile and nothing to keep."""
    full = (connection.alias, connection.vendor, *key)
    if full not in _ONCE:
        _ONCE[full] = make()
    return _ONCE[full]


# Stand-ins for values while SQL is compiled (an id, an id list): no row has ids like these.
MARK = -9_000_000_000_000_000_000


@dataclass(frozen=True)
class Template:
    """Compiled SQL with slots: where each stand-in value sat among its parameters, so
    that other values can take their places (`bind`)."""

    sql: str
    params: tuple
    slots: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, compiled: tuple[str, Iterable], stand_ins: Iterable, *, each: bool) -> Template:
        """`each`: every stand-in must be among the parameters (else a slot may be empty,
        as a person's id in SQL that names only their groups)."""
        sql, params = compiled
        params = tuple(params)
        slots = tuple(tuple(i for i, p in enumerate(params) if p == mark) for mark in stand_ins)
        if each and not all(slots):
            raise ValueError("a stand-in is not a parameter of the compiled SQL")
        return cls(sql, params, slots)

    def bind(self, *values) -> tuple[str, list]:
        """The SQL and its parameters with these values in the slots, in order."""
        if len(values) != len(self.slots):
            raise TypeError(f"{len(self.slots)} values wanted, {len(values)} given")
        params = list(self.params)
        for where, value in zip(self.slots, values, strict=True):
            for i in where:
                params[i] = value
        return self.sql, params


class Compiled:
    """A query whose shape never changes, built and compiled once a database, then run
    with other id lists, each of which went in as one `id_list` parameter.

    `build(*id_lists)` makes the query (a QuerySet). Building and compiling an ORM query
    of a few subqueries costs milliseconds each time (the audience of a change, asked on
    every change); here that is paid once a process and database, and a run only binds
    the ids. Rows come back as tuples, as `values_list` gives them."""

    def __init__(self, build: Callable[..., QuerySet], slots: int):
        self.build, self.slots = build, slots

    def rows(self, *id_lists: Iterable[int]) -> list[tuple]:
        if len(id_lists) != self.slots:
            raise TypeError(f"{self.slots} id lists wanted, {len(id_lists)} given")
        template = once_a_database(("Compiled", self), self._compile)
        with connection.cursor() as cursor:
            cursor.execute(*template.bind(*map(_ids_param, id_lists)))
            return cursor.fetchall()

    def _compile(self) -> Template:
        marks = [[MARK - n] for n in range(self.slots)]
        compiled = self.build(*marks).query.sql_with_params()
        return Template.of(compiled, [_ids_param(m) for m in marks], each=True)


def bulk_insert(
    model,
    columns: list[str],
    rows: list[tuple],
    *,
    on_conflict: list[str] | None = None,
    returning: list[str] = (),
) -> list[tuple]:
    """Insert many rows in one statement, without building model instances.

    `rows` are tuples of the `columns` (attnames); every other column gets its default,
    as a new instance would. The rows travel as one JSON parameter, read back by the
    database (json_array_elements, json_each): no parameter per value. With
    `on_conflict`, rows that hit that unique key are skipped; returns the `returning`
    columns of the rows inserted.
    """
    if not rows:
        return []
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    given = [meta.get_field(name) for name in columns]
    now = timezone.now()
    pg = connection.vendor == "postgresql"
    quote = connection.ops.quote_name
    select, params = [], []
    for f in fields:
        if f in given:
            i = given.index(f)
            select.append(f"(e->>{i})::{f.db_type(connection)}" if pg else f"e.value ->> {i}")
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        else:
            value = f.get_default()  # as a new instance would have it
        select.append(f"%s::{f.db_type(connection)}" if pg else "%s")
        params.append(f.get_db_prep_save(value, connection))
    source = "jsonb_array_elements(%s::jsonb) AS e" if pg else "json_each(%s) AS e"
    params.append(json.dumps(rows, default=_json_value))

    def names(attnames) -> str:
        return ", ".join(quote(meta.get_field(name).column) for name in attnames)

    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # nosec B608 - identifiers quoted from model metadata; values are parameters
        f"SELECT {', '.join(select)} FROM {source}"
    )
    if on_conflict:
        # SQLite needs a WHERE to tell INSERT ... SELECT's ON CONFLICT from a join's ON
        sql += f"{'' if pg else ' WHERE true'} ON CONFLICT ({names(on_conflict)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {names(returning)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if returning else []


def _json_value(value) -> str:
    if isinstance(value, datetime):
        value = connection.ops.adapt_datetimefield_value(value)  # str on SQLite
        return value if isinstance(value, str) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{value!r} does not go into JSON")


class JSONList(Aggregate):
    """The aggregated values as one JSON list: jsonb_agg on PostgreSQL, json_group_array
    on SQLite. With `JSONObject(...)` inside, many rows come back as one value."""

    function = "JSONB_AGG"
    output_field = JSONField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra_context)


class DaysBetween(Func):
    """Days from `start` to `end` (dates or times), as a float: julianday on SQLite, the
    epoch of the interval on PostgreSQL."""

    output_field = FloatField()

    def __init__(self, start, end, **extra):
        super().__init__(start, end, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        return self._days(
            compiler,
            "(EXTRACT(EPOCH FROM (CAST({end} AS timestamptz) - CAST({start} AS timestamptz)))"
            " / 86400.0)",
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return self._days(compiler, "(julianday({end}) - julianday({start}))")

    def _days(self, compiler, template: str):
        (start, start_params), (end, end_params) = (
            compiler.compile(e) for e in self.get_source_expressions()
        )
        return template.format(start=start, end=end), [*end_params, *start_params]


@dataclass(frozen=True)
class Spread:
    """How one group's values lie: how many, the median, the 90th percentile (linear
    between the nearest ranks, as PERCENTILE_CONT), the mean and the largest."""

    count: int
    median: float
    p90: float
    mean: float
    largest: float


def spreads(values: QuerySet, *, overall: tuple[str, ...] = ()) -> dict[tuple, Spread]:
    """Median, p90, mean and largest of `v` per group, for a queryset of rows
    (metric, key, v) — one query, on PostgreSQL and SQLite alike (PERCENTILE_CONT is
    PostgreSQL's only: ranks from ROW_NUMBER and COUNT windows instead).

    The p-th percentile lies at rank 1 + p·(n−1)/100: between the rows ranked
    1 + p·(n−1) div 100 and the next, at the fraction p·(n−1) mod 100 / 100 of the way.
    The metrics named in `overall` also get a group of all their keys together, key '*',
    from the same rows (read once).
    """
    inner, params = values.query.sql_with_params()
    # the names are parameters too: only placeholders are formatted into the SQL
    names = ", ".join(["%s"] * len(overall))
    if connections[values.db].vendor == "postgresql":
        # PostgreSQL's own ordered-set aggregates, one pass over the rows: the ranks
        # below sort and number every row twice over (145,000 rows for the metrics of
        # 10,000 trains: 590 ms against 160 ms).
        keep = f" OR metric IN ({names})" if overall else ""
        sql = (
            f"WITH base AS ({inner}) "  # nosec B608 - the ORM's own compiled SQL and fixed names; values are parameters
            "SELECT metric, CASE WHEN GROUPING(key) = 1 THEN '*' ELSE key END, COUNT(*), "
            "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY v), "
            "PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY v), AVG(v), MAX(v) "
            f"FROM base GROUP BY GROUPING SETS ((metric, key), (metric)) "
            f"HAVING GROUPING(key) = 0{keep}"
        )
        return _spreads(values.db, sql, [*params, *overall])
    union = " UNION ALL SELECT metric, '*', v FROM base WHERE metric IN "
    every = f"{union}({names})" if overall else ""

    def at(p: int) -> str:
        low = f"1 + ({p} * (n - 1)) / 100"
        return (
            f"MAX(CASE WHEN rn = {low} THEN v END) AS lo{p}, "
            f"MAX(CASE WHEN rn = {low} + 1 THEN v END) AS hi{p}, "
            f"(({p} * (n - 1)) %% 100) AS f{p}"
        )

    def value(p: int) -> str:
        return f"lo{p} + (COALESCE(hi{p}, lo{p}) - lo{p}) * f{p} / 100.0"

    sql = (
        f"WITH base AS ({inner}), measured AS (SELECT metric, key, v FROM base{every}) "  # nosec B608 - the ORM's own compiled SQL and fixed names; values are parameters
        f"SELECT metric, key, n, {value(50)}, {value(90)}, mean, largest FROM ("
        f"SELECT metric, key, n, {at(50)}, {at(90)}, AVG(v) AS mean, MAX(v) AS largest FROM ("
        "SELECT metric, key, v, "
        "ROW_NUMBER() OVER (PARTITION BY metric, key ORDER BY v) AS rn, "
        "COUNT(*) OVER (PARTITION BY metric, key) AS n "
        "FROM measured) ranked GROUP BY metric, key, n) spread"
    )
    return _spreads(values.db, sql, [*params, *overall])


def _spreads(alias: str, sql: str, params: list) -> dict[tuple, Spread]:
    with connections[alias].cursor() as cursor, planned_each_time(alias):
        cursor.execute(sql, params)
        return {
            (metric, key): Spread(n, median, p90, mean, largest)
            for metric, key, n, median, p90, mean, largest in cursor.fetchall()
        }


@contextmanager
def planned_each_time(alias: str = DEFAULT_DB_ALIAS):
    """Statements run inside are never prepared (settings: DB_PREPARE_THRESHOLD): for
    reads over a period or filters, whose best plan depends on the values. Prepared,
    PostgreSQL may settle on a generic plan after five runs: the metrics' spreads then
    took 433 ms instead of 350."""
    if connections[alias].vendor != "postgresql":
        yield
        return
    connections[alias].ensure_connection()  # the setting is the open connection's
    raw = connections[alias].connection
    threshold, raw.prepare_threshold = raw.prepare_threshold, None
    try:
        yield
    finally:
        raw.prepare_threshold = threshold


@contextmanager
def planned_once(alias: str = DEFAULT_DB_ALIAS):
    """Statements run inside, once prepared (settings: DB_PREPARE_THRESHOLD), keep the
    plan PostgreSQL made for them and are not planned again for each run's values
    (`plan_cache_mode`, set for the block and reset after it: two SET statements, no
    read). For the reads of trains with their facts, whose plan does not depend on the
    values: PostgreSQL's plan cache judged the kept plan dearer and planned the trains
    list's read afresh on every request, 7.7 ms of planning for 9.8 ms of running; its
    kept plan runs in 6.3 ms. The opposite of `planned_each_time`."""
    if connections[alias].vendor != "postgresql":
        yield
        return
    db = connections[alias]
    db.ensure_connection()  # the setting is the open connection's
    raw = db.connection
    if raw.prepare_threshold is None:  # nothing is prepared, so nothing is kept
        yield
        return
    with db.wrap_database_errors:  # a lost connection is Django's error, as in any read
        raw.execute("SET plan_cache_mode = force_generic_plan")
    try:
        yield
    finally:
        # In a failed transaction the rollback undoes the SET; on a lost connection there
        # is nothing to reset.
        if not raw.closed and raw.info.transaction_status in _CAN_RESET:
            with db.wrap_database_errors:
                raw.execute("RESET plan_cache_mode")


_CAN_RESET = (TransactionStatus.IDLE, TransactionStatus.INTRANS)
