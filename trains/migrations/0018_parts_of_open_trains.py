"""Phases, milestones and exit criteria carry whether their train is open, so that the
reminder scan's partial indexes leave the closed history out; the parts of trains
already closed or cancelled are marked here."""

from django.conf import settings
from django.db import migrations, models

FINAL_STATES = ["closed", "cancelled"]  # trains.choices.FINAL_STATES as of this migration


def mark_closed_history(apps, schema_editor):
    for name in ("Phase", "Milestone", "ExitCriterion"):
        apps.get_model("trains", name).objects.filter(train__state__in=FINAL_STATES).update(
            train_open=False
        )


class Migration(migrations.Migration):
    dependencies = [
        ("trains", "0017_baseline_health"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="exitcriterion",
            name="criterion_open_by_due_date",
        ),
        migrations.RemoveIndex(
            model_name="milestone",
            name="milestone_open_by_due_date",
        ),
        migrations.RemoveIndex(
            model_name="phase",
            name="phase_open_by_planned_end",
        ),
        migrations.AddField(
            model_name="exitcriterion",
            name="train_open",
            field=models.BooleanField(default=True, editable=False),
        ),
        migrations.AddField(
            model_name="milestone",
            name="train_open",
            field=models.BooleanField(default=True, editable=False),
        ),
        migrations.AddField(
            model_name="phase",
            name="train_open",
            field=models.BooleanField(default=True, editable=False),
        ),
        migrations.RunPython(mark_closed_history, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="exitcriterion",
            index=models.Index(
                condition=models.Q(
                    ("due_date__isnull", False),
                    ("met_at__isnull", True),
                    ("rule", "manual"),
                    ("train_open", True),
                ),
                fields=["due_date"],
                include=("id", "train", "phase", "description"),
                name="criterion_open_by_due_date",
            ),
        ),
        migrations.AddIndex(
            model_name="milestone",
            index=models.Index(
                condition=models.Q(("reached_at__isnull", True), ("train_open", True)),
                fields=["due_date"],
                include=("id", "train", "name"),
                name="milestone_open_by_due_date",
            ),
        ),
        migrations.AddIndex(
            model_name="phase",
            index=models.Index(
                condition=models.Q(("actual_end__isnull", True), ("train_open", True)),
                fields=["planned_end"],
                include=("id", "train", "kind"),
                name="phase_open_by_planned_end",
            ),
        ),
    ]
