"""Secrets at rest: calendar feed tokens are kept as SHA-256 hashes and webhook secrets
encrypted with FERNET_KEYS, so a dump of the database leaks neither; keys rotate with
`manage.py reencrypt_secrets`; existing rows are migrated and old feed URLs keep working."""

from __future__ import annotations

import hashlib
import io
import shutil
import sqlite3
import subprocess

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from api import crypto
from api import services as api_services
from api.models import CalendarFeed, WebhookSubscription
from trains.management.commands._database import POSTGRESQL, pg_connection


@pytest.fixture
def secrets_made(webhook_settings, manager, stakeholder):
    """A feed token for two people and a webhook: the raw values a dump must not hold."""
    _, manager_feed = api_services.feed_create(user=manager)
    _, stakeholder_feed = api_services.feed_create(user=stakeholder)
    hook = api_services.subscription_create(
        by=manager, url="http://127.0.0.1:9/hook", events=["train.transitioned"]
    )
    return [manager_feed, stakeholder_feed, hook.secret]


def _database_bytes(tmp_path) -> bytes:
    """The whole database as the engine keeps it: SQLite's file, or pg_dump's SQL."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        copy = sqlite3.connect(tmp_path / "copy.sqlite3")
        try:
            connection.connection.backup(copy)
        finally:
            copy.close()
        return (tmp_path / "copy.sqlite3").read_bytes()
    assert connection.settings_dict["ENGINE"] == POSTGRESQL
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    args, env = pg_connection(connection.settings_dict)
    dump = subprocess.run(
        ["pg_dump", "--data-only", "--format=plain", *args],
        env=env,
        capture_output=True,
        check=True,
        timeout=120,
    )
    return dump.stdout


@pytest.mark.django_db(transaction=True)  # committed, so the file and pg_dump see the rows
def test_a_database_dump_holds_no_feed_token_and_no_webhook_secret(secrets_made, tmp_path):
    out = io.StringIO()
    call_command("dumpdata", "api", stdout=out)
    dumped = out.getvalue()
    assert '"model": "api.calendarfeed"' in dumped and '"secret_encrypted"' in dumped
    raw = _database_bytes(tmp_path)
    assert len(raw) > 10_000
    for secret in secrets_made:
        assert secret not in dumped
        assert secret.encode() not in raw
    # What is there is useless without the key: the hash opens nothing, the ciphertext
    # needs FERNET_KEYS.
    feed = CalendarFeed.objects.first()
    assert api_services.feed_authenticate(feed.token_hash) is None


@pytest.mark.django_db
def test_webhook_secret_is_encrypted_and_signs_with_the_plain_value(secrets_made):
    hook = WebhookSubscription.objects.get()
    assert hook.secret == secrets_made[2] and len(hook.secret) == 64
    assert hook.secret_encrypted.startswith("gAAAAA")  # a Fernet token
    assert crypto.decrypt(hook.secret_encrypted) == secrets_made[2]


@pytest.mark.django_db
def test_rotating_keys_with_reencrypt_secrets(secrets_made, settings):
    old_key = settings.FERNET_KEYS[0]
    before = WebhookSubscription.objects.get().secret_encrypted
    new_key = Fernet.generate_key().decode()
    settings.FERNET_KEYS = [new_key, old_key]  # newest first: both open, the new one writes
    assert WebhookSubscription.objects.get().secret == secrets_made[2]
    out = io.StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "Re-encrypted 1 webhook secret(s)" in out.getvalue()
    after = WebhookSubscription.objects.get().secret_encrypted
    assert after != before
    settings.FERNET_KEYS = [new_key]  # the old key dropped: nothing is lost
    assert WebhookSubscription.objects.get().secret == secrets_made[2]
    assert Fernet(new_key).decrypt(after.encode()).decode() == secrets_made[2]
    with pytest.raises(crypto.InvalidToken):
        Fernet(old_key).decrypt(after.encode())


@pytest.mark.django_db
def test_reencrypt_names_secrets_no_key_opens(secrets_made, settings):
    settings.FERNET_KEYS = [Fernet.generate_key().decode()]  # the old key lost
    with pytest.raises(CommandError, match=r"1 webhook secret\(s\) open with no key"):
        call_command("reencrypt_secrets", stdout=io.StringIO())


def test_a_key_that_is_no_fernet_key_is_refused_clearly(settings):
    settings.FERNET_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured, match="key 1 is not a Fernet key"):
        crypto.encrypt("x")


@pytest.mark.django_db(transaction=True)
def test_migration_hashes_feed_tokens_and_encrypts_webhook_secrets(client, manager):
    """Rows made before the change: the old feed URL keeps working, the secret keeps
    signing, and neither stays in plain text."""
    executor = MigrationExecutor(connection)
    executor.migrate([("api", "0001_initial")])
    old = executor.loader.project_state([("api", "0001_initial")]).apps
    token, secret = "an-old-feed-token-from-before", "ab" * 32
    old.get_model("api", "CalendarFeed").objects.create(user_id=manager.pk, token=token)
    old.get_model("api", "WebhookSubscription").objects.create(
        owner_id=manager.pk, url="https://hooks.example.com/x", secret=secret, events=[]
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    feed = CalendarFeed.objects.get()
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert api_services.feed_authenticate(token) == feed
    assert client.get(f"/calendar/feed/{token}.ics").status_code == 200
    hook = WebhookSubscription.objects.get()
    assert hook.secret == secret and secret not in hook.secret_encrypted
