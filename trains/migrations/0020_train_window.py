"""The trains whose window meets some days, from a GiST index of their windows as date
ranges (trains.models.WindowMeets): the portfolio and the calendar. PostgreSQL only; on
SQLite the same filter is two comparisons and needs no index of its own."""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS train_window ON trains_releasetrain "
    "USING gist (daterange(start_date, end_date, '[]'))"
)
DROP = "DROP INDEX IF EXISTS train_window"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("trains", "0019_open_train_state"),
    ]

    operations = [migrations.RunPython(create, drop)]
