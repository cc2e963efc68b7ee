"""Structured logs: one line per request; errors with their traceback; text or JSON."""

import json
import logging
import sys

import pytest
from django.urls import path

from releasemgr.logs import JsonFormatter, KeyValueFormatter, logging_config


def boom(request):
    raise ZeroDivisionError("the view broke")


urlpatterns = [path("boom/", boom)]

pytestmark = pytest.mark.django_db


def request_records(caplog):
    return [r for r in caplog.records if r.name == "releasemgr.request"]


def test_one_line_per_request_with_method_path_status_duration(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/accounts/login/")
    (record,) = request_records(caplog)
    line = KeyValueFormatter().format(record)
    assert "\n" not in line
    assert "level=INFO logger=releasemgr.request msg=request" in line
    assert "method=GET path=/accounts/login/ status=200 duration_ms=" in line
    assert float(record.fields["duration_ms"]) >= 0


def test_redirects_and_not_found_are_logged_with_their_status(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/trains/")
    client.get("/no-such-page/")
    assert [r.fields["status"] for r in request_records(caplog)] == [302, 404]


def test_healthy_probes_are_not_logged_but_failing_ones_are(client, caplog, monkeypatch):
    caplog.set_level(logging.INFO)
    client.get("/healthz")
    assert request_records(caplog) == []

    from releasemgr import health

    monkeypatch.setitem(health.CHECKS, "broker", lambda: 1 / 0)
    client.get("/healthz")
    assert [r.fields["status"] for r in request_records(caplog)] == [503]


@pytest.mark.urls(__name__)
def test_errors_are_logged_with_the_traceback(client, caplog):
    caplog.set_level(logging.INFO)
    client.raise_request_exception = False
    assert client.get("/boom/").status_code == 500

    (error,) = [r for r in caplog.records if r.name == "django.request"]
    text = KeyValueFormatter().format(error)
    assert text.startswith("ts=")
    assert 'level=ERROR logger=django.request msg="Internal Server Error: /boom/"' in text
    assert "Traceback (most recent call last)" in text
    assert "ZeroDivisionError: the view broke" in text

    as_json = json.loads(JsonFormatter().format(error))
    assert as_json["level"] == "ERROR"
    assert "ZeroDivisionError: the view broke" in as_json["exc"]

    (line,) = request_records(caplog)
    assert line.fields["status"] == 500


def test_values_with_spaces_or_quotes_are_quoted():
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, 'say "hi" now', None, None)
    record.fields = {"path": "/a b/", "empty": ""}
    line = KeyValueFormatter().format(record)
    assert 'msg="say \\"hi\\" now" path="/a b/" empty=""' in line


def test_logging_goes_to_stdout_in_the_chosen_format():
    config = logging_config(level="INFO", fmt="json")
    assert config["handlers"]["stdout"]["stream"] == "ext://sys.stdout"
    assert config["formatters"]["default"]["()"] == "releasemgr.logs.JsonFormatter"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config(fmt="xml")


def test_client_errors_are_one_line_without_traceback(client, caplog, outsider):
    """A 403 is logged as one line: its PermissionDenied is not a server fault."""
    caplog.set_level(logging.INFO)
    client.force_login(outsider)
    assert client.get("/notifications/sent/").status_code == 403
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    line = KeyValueFormatter().format(record)
    assert "\n" not in line
    assert "level=WARNING logger=django.request" in line
    assert "Forbidden" in line


@pytest.mark.parametrize(("status", "kept"), [(403, False), (404, False), (500, True)])
def test_only_server_errors_keep_their_traceback(status, kept):
    from releasemgr.logs import ClientErrorsWithoutTraceback

    try:
        raise ValueError("behind the response")
    except ValueError:
        record = logging.LogRecord("django.request", 30, __file__, 1, "m", (), sys.exc_info())
    record.status_code = status
    assert ClientErrorsWithoutTraceback().filter(record) is True
    assert (record.exc_info is not None) is kept
