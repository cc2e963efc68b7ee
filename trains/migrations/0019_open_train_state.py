"""An open train's state by its id, from a small partial index: what the reminder scan
looks up for each due deadline (trains.models.ReleaseTrain.Meta.indexes)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("trains", "0018_parts_of_open_trains"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="releasetrain",
            index=models.Index(
                condition=models.Q(
                    (
                        "state__in",
                        (
                            "scoping",
                            "construction",
                            "development_approval",
                            "verification",
                            "executive_approval",
                            "deployment",
                        ),
                    )
                ),
                fields=["id"],
                include=("state",),
                name="open_train_state",
            ),
        ),
    ]
