"""releasemgr.db.spreads: median and 90th percentile as PERCENTILE_CONT gives them
(linear between the nearest ranks), per group and for all of a metric's groups together;
PostgreSQL's ordered-set aggregates and the ranks used elsewhere (SQLite) agree."""

import statistics

import pytest
from django.contrib.auth import get_user_model
from django.db.models import CharField, FloatField, Value
from django.db.models.functions import Cast

from releasemgr.db import spreads


def expected(values: list[float]):
    ordered = sorted(values)
    if len(ordered) == 1:
        return len(ordered), ordered[0], ordered[0]
    cuts = statistics.quantiles(ordered, n=10, method="inclusive")  # cuts[4]: p50, [8]: p90
    return len(ordered), cuts[4], cuts[8]


@pytest.mark.django_db
def test_spreads_per_group_and_overall_match_percentile_cont():
    User = get_user_model()
    groups = {"a": 7, "b": 1, "c": 12}  # sizes: odd, one, even
    for key, size in groups.items():
        User.objects.bulk_create(
            User(username=f"{key}{i}", first_name=key, last_name=str((i * 37) % 11))
            for i in range(size)
        )

    def rows(metric: str):
        return User.objects.filter(first_name__in=groups).values(
            metric=Value(metric, output_field=CharField()),
            key=Cast("first_name", output_field=CharField()),
            v=Cast("last_name", output_field=FloatField()),
        )

    # a second metric without its overall group
    found = spreads(rows("m").union(rows("x"), all=True), overall=("m",))

    by_key = {
        key: [
            float(v)
            for v in User.objects.filter(first_name=key).values_list("last_name", flat=True)
        ]
        for key in groups
    }
    everything = [v for values in by_key.values() for v in values]
    assert set(found) == {("m", k) for k in groups} | {("x", k) for k in groups} | {("m", "*")}
    for (metric, key), spread in found.items():
        values = everything if key == "*" else by_key[key]
        n, median, p90 = expected(values)
        assert (spread.count, spread.largest) == (n, max(values)), (metric, key)
        assert spread.median == pytest.approx(median), (metric, key)
        assert spread.p90 == pytest.approx(p90), (metric, key)
        assert spread.mean == pytest.approx(statistics.fmean(values)), (metric, key)
