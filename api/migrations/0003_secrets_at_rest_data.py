"""Secrets at rest, step 2 of 3: hash every calendar feed token (its URL keeps working:
the feed is found by the hash of the token in the URL) and encrypt every webhook secret
with FERNET_KEYS (receivers keep verifying with the secret they have)."""

import hashlib
import secrets

from django.db import migrations

from api import crypto


def forwards(apps, schema_editor):
    CalendarFeed = apps.get_model("api", "CalendarFeed")
    WebhookSubscription = apps.get_model("api", "WebhookSubscription")
    for feed in CalendarFeed.objects.filter(token_hash__isnull=True).iterator():
        feed.token_hash = hashlib.sha256(feed.token.encode()).hexdigest()
        feed.save(update_fields=["token_hash"])
    # B106: "" marks a row not encrypted yet, not a password
    for subscription in WebhookSubscription.objects.filter(
        secret_encrypted=""  # nosec B106
    ).iterator():
        subscription.secret_encrypted = crypto.encrypt(subscription.secret)
        subscription.save(update_fields=["secret_encrypted"])


def backwards(apps, schema_editor):
    """Secrets come back in plain text; feed tokens cannot (only hashes are kept), so each
    feed gets a new token and its owner a new URL."""
    CalendarFeed = apps.get_model("api", "CalendarFeed")
    WebhookSubscription = apps.get_model("api", "WebhookSubscription")
    for feed in CalendarFeed.objects.iterator():
        feed.token = secrets.token_urlsafe(32)
        feed.save(update_fields=["token"])
    for subscription in WebhookSubscription.objects.iterator():
        subscription.secret = crypto.decrypt(subscription.secret_encrypted)
        subscription.save(update_fields=["secret"])


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_secrets_at_rest"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
