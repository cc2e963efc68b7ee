"""The database connection killed under a request (`pg_terminate_backend`, as a restart
or a failover does): that request answers 503 with Retry-After and the "try again" page,
not a 500 with a traceback; the next request is served on a fresh connection; nothing is
half-saved. Here in-process, with the kill made from a second connection at the moment
the request queries; `test_database_away_under_load.py` does it to gunicorn under load."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from tests.factories import make_train
from trains.models import Milestone, TrainEvent

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="pg_terminate_backend is PostgreSQL's"
    ),
]


def _dsn() -> str:
    params = connection.get_connection_params()
    return psycopg.conninfo.make_conninfo(
        **{k: v for k, v in params.items() if k in ("dbname", "user", "host", "port", "password")}
    )


class KillOn:
    """An execute_wrapper that terminates this connection's backend, from another
    connection, just before the first query that contains `marker` runs."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.kills = 0

    def __call__(self, execute, sql, params, many, context):
        if self.kills == 0 and self.marker in sql:
            pid = context["connection"].connection.info.backend_pid
            with psycopg.connect(_dsn(), autocommit=True) as killer:
                killer.execute("SELECT pg_terminate_backend(%s)", [pid])
            self.kills += 1
        return execute(sql, params, many, context)


def test_a_killed_connection_answers_503_and_the_next_request_is_served(client, manager):
    train = make_train(manager)
    client.force_login(manager)
    client.raise_request_exception = False
    kill = KillOn('"trains_releasetrain"')
    with connection.execute_wrapper(kill):
        response = client.get("/trains/")
    assert kill.kills == 1
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    page = response.content.decode()
    assert "try again in a moment" in page and "Traceback" not in page
    assert "Nothing you entered was half-saved" in page
    assert client.get("/trains/").status_code == 200  # a fresh connection
    assert client.get(f"/trains/{train.pk}/").status_code == 200


def test_a_change_cut_off_mid_way_is_not_half_saved(client, manager):
    """The kill lands on the history row's INSERT, after the milestone's: neither stays."""
    train = make_train(manager)
    client.force_login(manager)
    client.raise_request_exception = False
    events = TrainEvent.objects.count()
    kill = KillOn('INSERT INTO "trains_trainevent"')
    with connection.execute_wrapper(kill):
        response = client.post(
            f"/trains/{train.pk}/milestones/",
            {"name": "Cut off", "due_date": train.start_date.isoformat()},
        )
    assert kill.kills == 1
    assert response.status_code == 503
    assert not Milestone.objects.filter(name="Cut off").exists()
    assert TrainEvent.objects.count() == events
    response = client.post(
        f"/trains/{train.pk}/milestones/",
        {"name": "Sent again", "due_date": train.start_date.isoformat()},
    )
    assert response.status_code == 302
    assert Milestone.objects.filter(name="Sent again").count() == 1
    assert TrainEvent.objects.count() == events + 1


def test_a_broken_connection_is_logged_as_a_503_request(client, manager, caplog):
    client.force_login(manager)
    client.raise_request_exception = False
    with connection.execute_wrapper(KillOn('"trains_releasetrain"')):
        client.get("/trains/")
    lines = [r for r in caplog.records if r.name == "releasemgr.request"]
    assert any(r.fields["status"] == 503 and r.fields["path"] == "/trains/" for r in lines)
