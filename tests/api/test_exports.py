"""CSV exports: the trains list with its filters, and a train's application releases."""

import csv
import io

import pytest

from tests.factories import ReleaseFactory, drive, make_train
from trains import services

pytestmark = pytest.mark.django_db


def rows(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_trains_export_applies_the_list_filters_and_visibility(client, manager, other_manager):
    make_train(manager, name="Alpha", train_type="major")
    beta = make_train(manager, name="Beta", train_type="patch")
    make_train(other_manager, name="Hidden", train_type="patch")
    services.train_transition(train=beta, name="cancel", by=manager, reason="x")
    client.force_login(manager)
    assert [r["name"] for r in rows(client.get("/trains/export.csv"))] == ["Alpha", "Beta"]
    assert [r["name"] for r in rows(client.get("/trains/export.csv?train_type=patch"))] == ["Beta"]
    only = rows(client.get("/trains/export.csv?state=cancelled&q=bet"))
    assert [(r["name"], r["state"], r["primary manager"]) for r in only] == [
        ("Beta", "Cancelled", "manager")
    ]
    assert only[0]["scoping ends"] and only[0]["url"].endswith(f"/trains/{beta.pk}/")


def test_trains_export_bad_filter_is_400_and_login_is_needed(client, manager):
    assert client.get("/trains/export.csv").status_code == 302
    client.force_login(manager)
    response = client.get("/trains/export.csv?state=nope")
    assert response.status_code == 400


def test_export_cells_are_not_spreadsheet_formulas(client, manager):
    make_train(manager, name='=HYPERLINK("http://evil")')
    client.force_login(manager)
    (row,) = rows(client.get("/trains/export.csv"))
    assert row["name"].startswith("'=")


def test_export_runs_a_constant_number_of_queries(client, manager, django_assert_max_num_queries):
    for i in range(6):
        make_train(manager, name=f"T{i}")
    client.force_login(manager)
    # session, user with its groups, trains with managers, phases
    with django_assert_max_num_queries(4):
        assert len(rows(client.get("/trains/export.csv"))) == 6


def test_releases_export(client, manager, owner, qa, executive, engineer, outsider):
    train, *_ = drive(
        make_train(manager),
        "closed",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
        releases=2,
    )
    client.force_login(manager)
    exported = rows(client.get(f"/trains/{train.pk}/releases.csv"))
    assert len(exported) == 2
    assert {r["state"] for r in exported} == {"Development complete"}
    assert {r["turnover"] for r in exported} == {"Accepted"}
    assert {r["product owner"] for r in exported} == {"owner"}
    client.force_login(outsider)
    assert client.get(f"/trains/{train.pk}/releases.csv").status_code == 404


def test_releases_export_of_a_train_without_releases_has_a_header(client, manager):
    train = make_train(manager)
    ReleaseFactory()  # on no train
    client.force_login(manager)
    response = client.get(f"/trains/{train.pk}/releases.csv")
    assert response.content.decode().splitlines() == [
        "id,application,version,state,product owner,turnover,turnover decided at,notes"
    ]
