"""Secrets kept at rest, encrypted with the keys in settings.FERNET_KEYS.

MultiFernet encrypts with the first key and decrypts with any of them, so keys rotate
without a moment in which a secret cannot be read: put the new key first, run
`manage.py reencrypt_secrets`, then drop the old key.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = ["InvalidToken", "decrypt", "encrypt", "rotate"]


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FERNET_KEYS is empty: secrets cannot be encrypted.")
    fernets = []
    for number, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:
            raise ImproperlyConfigured(
                f"FERNET_KEYS: key {number} is not a Fernet key (32 url-safe base64 bytes)."
            ) from None
    return MultiFernet(fernets)


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FERNET_KEYS))


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs) -> None:
    if setting == "FERNET_KEYS":
        _fernet.cache_clear()


def encrypt(plain: str) -> str:
    return fernet().encrypt(plain.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plain text; InvalidToken when no key in FERNET_KEYS opens it."""
    return fernet().decrypt(token.encode("ascii")).decode()


def rotate(token: str) -> str:
    """The same secret encrypted with the newest key."""
    return fernet().rotate(token.encode("ascii")).decode("ascii")
