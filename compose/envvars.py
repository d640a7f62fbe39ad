"""Typed readers for environment variables that fail loudly on a bad value.

One reader per kind of value, for every layer: the Django settings, the CLI and the
runner all parse ``HF_HUB_OFFLINE=on`` the same way. A typo such as ``DEBUG=ture``
raises :class:`EnvError` naming the variable instead of falling back to a default the
operator did not choose; the caller decides how to report it (the settings turn it into
``ImproperlyConfigured``, the runner into a failed job).

>>> env_bool("HF_HUB_OFFLINE", environ={"HF_HUB_OFFLINE": "On"})
True
>>> env_bool("HF_HUB_OFFLINE", environ={})
False
>>> try:
...     env_bool("DEBUG", environ={"DEBUG": "ture"})
... except EnvError as exc:
...     print(exc)
DEBUG='ture' is not a boolean; use one of 1/0, true/false, yes/no, on/off
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


class EnvError(ValueError):
    """An environment variable holds a value its reader cannot take; names the variable."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    return (os.environ if environ is None else environ).get(name)


def parse_bool(name: str, value: str) -> bool:
    """``value`` read as a switch: 1/0, true/false, yes/no, on/off in any case; blank is off."""
    lowered = value.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise EnvError(name, f"{name}={value!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off")


def env_str(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name: str, default: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    return default if value is None else parse_bool(name, value)


def env_int(name: str, default: int, environ: Mapping[str, str] | None = None, *, minimum: int | None = None) -> int:
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise EnvError(name, f"{name}={value!r} is not a whole number") from None
    if minimum is not None and number < minimum:
        raise EnvError(name, f"{name}={number} is below the minimum of {minimum}")
    return number


def env_float(
    name: str, default: float, environ: Mapping[str, str] | None = None, *, minimum: float | None = None
) -> float:
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value.strip())
    except ValueError:
        raise EnvError(name, f"{name}={value!r} is not a number") from None
    if number != number or (minimum is not None and number < minimum):
        raise EnvError(name, f"{name}={value!r} must be a number >= {minimum}")
    return number


def env_octal(name: str, default: int, environ: Mapping[str, str] | None = None, *, maximum: int = 0o777) -> int:
    """A mode or umask written in octal as for chmod: ``077``, ``0o027``."""
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip().lower().removeprefix("0o"), 8)
    except ValueError:
        raise EnvError(name, f"{name}={value!r} is not an octal number such as 077") from None
    if not 0 <= number <= maximum:
        raise EnvError(name, f"{name}={value!r} is above {maximum:o}")
    return number


def env_path(name: str, default: Path, environ: Mapping[str, str] | None = None, *, base: Path | None = None) -> Path:
    """A folder or file path; a relative value is taken relative to ``base``."""
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        path = default
    else:
        if "\x00" in value:
            raise EnvError(name, f"{name} contains a NUL character")
        path = Path(value.strip()).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    return path


def env_list(name: str, default: list[str] | None = None, environ: Mapping[str, str] | None = None) -> list[str]:
    """A comma-separated list; blanks around items are dropped, empty items refused."""
    value = _raw(name, environ)
    if value is None:
        return list(default or [])
    if value.strip() == "":
        return []
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise EnvError(name, f"{name}={value!r} has an empty item (check the commas)")
    return items


def env_choice(name: str, choices: tuple[str, ...], environ: Mapping[str, str] | None = None) -> str:
    """One of ``choices`` (the first is the default); anything else is refused, naming them."""
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return choices[0]
    if value.strip() not in choices:
        raise EnvError(name, f"{name}={value!r} is not one of {', '.join(choices)}")
    return value.strip()
