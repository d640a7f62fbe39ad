"""The settings' view of :mod:`compose.envvars`: the same readers, raising Django's
``ImproperlyConfigured`` so a bad value stops the process at start-up, naming the variable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured

from compose import envvars

F = TypeVar("F", bound=Callable[..., Any])


def _loud(reader: F) -> F:
    @functools.wraps(reader)
    def read(*args: Any, **kwargs: Any) -> Any:
        try:
            return reader(*args, **kwargs)
        except envvars.EnvError as exc:
            raise ImproperlyConfigured(str(exc)) from None

    return read  # type: ignore[return-value]


env_str = envvars.env_str
env_bool = _loud(envvars.env_bool)
env_int = _loud(envvars.env_int)
env_float = _loud(envvars.env_float)
env_octal = _loud(envvars.env_octal)
env_path = _loud(envvars.env_path)
env_list = _loud(envvars.env_list)
env_choice = _loud(envvars.env_choice)
