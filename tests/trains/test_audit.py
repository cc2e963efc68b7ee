"""The audit trail: history, deployments and decisions cannot be changed through the
app, the admin or (on PostgreSQL) raw SQL; every decision keeps who, when, why, and
what the approver saw."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from approvals.models import ApprovalDecision
from tests.factories import UserFactory, drive, fresh, make_train
from trains import services
from trains.models import Deployment, TrainEvent

pytestmark = pytest.mark.django_db

APPEND_ONLY = [
    (TrainEvent, "trains_trainevent", "message"),
    (Deployment, "trains_deployment", "log"),
    (ApprovalDecision, "approvals_approvaldecision", "comment"),
]


@pytest.fixture
def closed_train(manager, owner, qa, executive, engineer):
    train, dev, exe, _ = drive(
        make_train(manager),
        "closed",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    return train


@pytest.mark.parametrize(("model", "table", "field"), APPEND_ONLY)
def test_facts_cannot_be_changed_through_the_orm(closed_train, model, table, field):
    row = model.objects.first()
    setattr(row, field, "rewritten")
    with pytest.raises(TypeError, match="never updated"):
        row.save()
    with pytest.raises(TypeError, match="never deleted"):
        row.delete()
    with pytest.raises(TypeError, match="never updated"):
        model.objects.filter(pk=row.pk).update(**{field: "rewritten"})
    with pytest.raises(TypeError, match="never deleted"):
        model.objects.all().delete()
    assert getattr(model.objects.get(pk=row.pk), field) != "rewritten"


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the trigger is PostgreSQL's")
@pytest.mark.parametrize(("model", "table", "field"), APPEND_ONLY)
def test_facts_cannot_be_changed_even_by_raw_sql(closed_train, model, table, field):
    row = model.objects.first()
    for sql in (
        f"UPDATE {table} SET {field} = 'rewritten' WHERE id = %s",
        f"DELETE FROM {table} WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="History rows are facts"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [row.pk])
    assert model.objects.filter(pk=row.pk).exists()
    assert getattr(model.objects.get(pk=row.pk), field) != "rewritten"
    # New facts are still written.
    count = TrainEvent.objects.count()
    services.train_grant(train=closed_train, by=closed_train.primary_manager, user=UserFactory())
    assert TrainEvent.objects.count() == count + 1


@pytest.fixture
def admin_client(client, role_groups):
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    ("model", "admin_name"),
    [
        (TrainEvent, "trains_trainevent"),
        (ApprovalDecision, "approvals_approvaldecision"),
    ],
)
def test_the_admin_shows_facts_but_cannot_change_or_delete_them(
    admin_client, closed_train, model, admin_name
):
    row = model.objects.first()
    change = reverse(f"admin:{admin_name}_change", args=[row.pk])
    page = admin_client.get(change)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # view-only: no save button
    before = {f.name: getattr(row, f.attname) for f in model._meta.concrete_fields}
    assert admin_client.post(change, {"comment": "x", "message": "x"}).status_code == 403
    delete = reverse(f"admin:{admin_name}_delete", args=[row.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse(f"admin:{admin_name}_changelist")
    response = admin_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302)
    row = model.objects.get(pk=row.pk)
    assert {f.name: getattr(row, f.attname) for f in model._meta.concrete_fields} == before


def test_a_decision_keeps_who_when_why_and_what_they_saw(manager, owner, qa, executive, engineer):
    train, dev, exe, releases = drive(
        make_train(manager),
        "executive_approval",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    decision = services.decision_record(
        requirement=exe, by=executive, approve=False, comment="Load test numbers missing"
    )
    decision = ApprovalDecision.objects.get(pk=decision.pk)
    assert decision.user == executive and decision.decided_at is not None
    assert decision.comment == "Load test numbers missing"
    snap = decision.snapshot
    assert snap["gate"] == "executive" and snap["round"] == 1 == decision.round
    assert snap["train"] == {"id": train.pk, "name": train.name, "state": "executive_approval"}
    assert snap["requirement"]["id"] == exe.pk
    assert snap["approvals"] == [
        {
            "requirement": exe.pk,
            "approver": exe.approver_label,
            "approvals": 0,
            "rejections": 0,
            "needed": 1,
        }
    ]
    qa_row = next(c for c in snap["criteria"] if c["rule"] == "manual")
    assert qa_row["met"] is True and qa_row["met_by"] == "qa" and qa_row["met_at"]
    turnovers = next(c for c in snap["criteria"] if c["rule"] == "turnovers_accepted")
    assert turnovers["met"] is False and "no accepted turnover" in turnovers["detail"]
    assert {r["id"] for r in snap["releases"]} == {r.pk for r in releases}
    assert len(snap["criteria"]) == fresh(train).criteria.count()


def test_the_snapshot_is_a_copy_not_a_live_view(manager, owner, qa, executive, engineer):
    train, dev, exe, _ = drive(
        make_train(manager),
        "development_approval",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    first = services.decision_record(requirement=dev, by=manager, approve=True)
    # The train moved on and QA signed off since; the decision still shows round 1 as seen.
    qa_check = fresh(train).criteria.get(phase="verification", rule="manual")
    services.criterion_set_met(criterion=qa_check, by=qa, met=True)
    snap = ApprovalDecision.objects.get(pk=first.pk).snapshot
    assert snap["train"]["state"] == "development_approval"
    row = next(c for c in snap["criteria"] if c["id"] == qa_check.pk)
    assert row["met"] is False and row["met_by"] is None
