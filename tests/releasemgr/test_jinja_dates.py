"""Days in the Jinja2 bodies (releasemgr/jinja2.py `date`): as Django's `date` filter
writes them, each format of a day formatted once a language."""

from datetime import UTC, date, datetime

from django.template import defaultfilters
from django.utils import translation

from releasemgr.jinja2 import date as jinja_date

DAY = date(2026, 3, 5)


def test_a_day_reads_as_djangos_filter_writes_it():
    for arg in ("Y-m-d", "j M", "j F", "D j", "F Y", None):
        assert jinja_date(DAY, arg) == defaultfilters.date(DAY, arg)
    assert jinja_date(DAY, "j M") == "5 Mar"
    assert jinja_date(DAY, "Y-m-d") == "2026-03-05"


def test_a_remembered_day_is_remembered_in_its_own_language():
    assert jinja_date(DAY, "j F") == "5 March"
    with translation.override("de"):
        assert jinja_date(DAY, "j F") == "5 März"
    assert jinja_date(DAY, "j F") == "5 March"


def test_a_moment_is_not_remembered_but_shown_in_the_current_time_zone(settings):
    moment = datetime(2026, 3, 5, 23, 30, tzinfo=UTC)
    settings.TIME_ZONE = "Europe/Berlin"
    assert jinja_date(moment, "Y-m-d H:i") == "2026-03-06 00:30"
    settings.TIME_ZONE = "UTC"
    assert jinja_date(moment, "Y-m-d H:i") == "2026-03-05 23:30"
