"""Keys a deployment generates once and keeps: Django's SECRET_KEY and the keys that seal
workspace secrets (training.secret_box)."""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

MAKE_FERNET_KEY = 'python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'


def generated_once(path: Path, make: Callable[[], str]) -> str:
    """The text in ``path``; if there is none yet, ``make()`` written there first (mode 0600).

    The file appears whole or not at all (a link from a finished temporary file), so
    processes starting together all read the one key the first of them wrote.
    """
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(make())
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: its key counts
        finally:
            os.unlink(temporary)
    return path.read_text(encoding="utf-8").strip()


def new_fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (ValueError, UnicodeEncodeError):
        return False


def secrets_keys(environ: Mapping[str, str], var_dir: Path, database_url: str) -> list[str]:
    """Keys that seal workspace secrets: the first seals, every one opens, so a new key can
    go first while the old ones still read. ``COMPOSE_SECRETS_KEY`` (comma-separated);
    unset, one generated into ``var_dir/secrets-key.txt``, but only on the embedded
    SQLite default: with a shared database every web and worker machine needs the same
    keys, and a key made by one machine would seal secrets the others cannot open.
    Messages name the setting or the file, never a key."""
    raw = environ.get("COMPOSE_SECRETS_KEY", "").strip()
    if raw:
        keys = [key.strip() for key in raw.split(",")]
        if not all(keys):
            raise ImproperlyConfigured("COMPOSE_SECRETS_KEY has an empty item (check the commas)")
        if not all(is_fernet_key(key) for key in keys):
            raise ImproperlyConfigured(
                "COMPOSE_SECRETS_KEY holds a value that is not a Fernet key (32 bytes, "
                f"url-safe base64); make one with: {MAKE_FERNET_KEY}"
            )
        return keys
    if database_url and not database_url.startswith("sqlite"):
        raise ImproperlyConfigured(
            "COMPOSE_SECRETS_KEY is not set: with DATABASE_URL every web and worker machine "
            "needs the same key to seal and open workspace secrets; make one with: "
            f"{MAKE_FERNET_KEY}"
        )
    key_file = var_dir / "secrets-key.txt"
    key = generated_once(key_file, new_fernet_key)
    if not is_fernet_key(key):
        raise ImproperlyConfigured(
            f"{key_file} holds no Fernet key: restore the file that sealed the secrets, or set COMPOSE_SECRETS_KEY"
        )
    return [key]
