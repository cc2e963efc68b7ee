"""Secrets at rest, step 1 of 3: room for the calendar feed token's hash and the webhook
secret's ciphertext beside the plain columns (steps: add, fill, drop the plain ones)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="calendarfeed",
            name="token_hash",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="webhooksubscription",
            name="secret_encrypted",
            field=models.TextField(default=""),
        ),
    ]
