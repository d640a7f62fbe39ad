"""Workspace secrets sealed at rest: Fernet (AES-128-CBC + HMAC-SHA256) with the keys in
``settings.COMPOSE_SECRETS_KEYS``. A database dump or backup then holds no token; the
keys live with the web and worker machines, not in the database."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "fernet:"


class SecretUnreadable(Exception):
    """A sealed value that none of this machine's keys opens."""


def _box():
    from cryptography.fernet import Fernet, MultiFernet

    try:
        return MultiFernet([Fernet(key.encode("ascii")) for key in settings.COMPOSE_SECRETS_KEYS])
    except (ValueError, UnicodeEncodeError) as exc:
        raise ImproperlyConfigured(
            "COMPOSE_SECRETS_KEY holds a key that is not a Fernet key (32 bytes, url-safe base64)"
        ) from exc


def seal(value: str) -> str:
    """``value`` encrypted with the first key."""
    return PREFIX + _box().encrypt(value.encode("utf-8")).decode("ascii")


def open_sealed(sealed: str, name: str) -> str:
    """The value ``seal`` returned ``sealed`` for; ``name`` is the secret's, for the error."""
    from cryptography.fernet import InvalidToken

    if not sealed.startswith(PREFIX):
        raise SecretUnreadable(f"workspace secret {name} is not stored sealed; enter it again")
    try:
        return _box().decrypt(sealed[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretUnreadable(
            f"workspace secret {name} cannot be opened with this machine's COMPOSE_SECRETS_KEY: give every web "
            "and worker machine the key that sealed it (keys may be listed comma-separated, the new one first), "
            "or enter the secret again in the admin"
        ) from None
