"""History rows are facts, in the database too: on PostgreSQL a trigger refuses every
UPDATE and DELETE of train events, deployments and approval decisions, whoever sends
it (the app, the admin, a psql session). TRUNCATE, used to empty a test database or
restore a backup over it, is not row-level and stays possible for the database owner.

Other databases (SQLite for development) rely on the models' own refusal.
"""

from django.db import migrations

TABLES = ("trains_trainevent", "trains_deployment", "approvals_approvaldecision")

FUNCTION = """
CREATE OR REPLACE FUNCTION releasemgr_refuse_history_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'History rows are facts: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def _postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def forward(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    schema_editor.execute(FUNCTION, params=None)  # the % are PL/pgSQL's, not ours
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION releasemgr_refuse_history_change();"
        )


def backward(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS releasemgr_refuse_history_change();")


class Migration(migrations.Migration):
    dependencies = [
        ("trains", "0004_calendar_indexes"),
        ("approvals", "0003_decision_snapshot"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
