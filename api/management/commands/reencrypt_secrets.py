"""Move every secret kept at rest to the newest key of FERNET_KEYS (README, "Secrets at
rest"): put the new key first, run this, then drop the old key."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from api import services


class Command(BaseCommand):
    help = "Re-encrypt the webhook secrets with the first key of FERNET_KEYS."

    def handle(self, *args, **options):
        done, unreadable = services.secrets_reencrypt()
        self.stdout.write(f"Re-encrypted {done} webhook secret(s) with the newest key.")
        if unreadable:
            ids = ", ".join(str(pk) for pk in unreadable)
            raise CommandError(
                f"{len(unreadable)} webhook secret(s) open with no key in FERNET_KEYS "
                f"(webhooks {ids}): put back the key they were made with, then run this again."
            )
