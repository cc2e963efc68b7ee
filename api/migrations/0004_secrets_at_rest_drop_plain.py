"""Secrets at rest, step 3 of 3: the plain columns go."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0003_secrets_at_rest_data"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="calendarfeed",
            name="token",
        ),
        migrations.AlterField(
            model_name="calendarfeed",
            name="token_hash",
            field=models.CharField(max_length=64, unique=True),
        ),
        migrations.RemoveField(
            model_name="webhooksubscription",
            name="secret",
        ),
        migrations.AlterField(
            model_name="webhooksubscription",
            name="secret_encrypted",
            field=models.TextField(
                editable=False,
                help_text="The secret that signs each delivery (HMAC-SHA256), encrypted with "
                "FERNET_KEYS; read and set it as `secret`.",
            ),
        ),
    ]
