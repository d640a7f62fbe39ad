"""Python warnings as log events: one line each, deprecation notices kept out of sight.

Left alone, a warning reaches stderr as two lines (the message, then the source line
that raised it), and the launcher shows both as warnings. Deprecation notices from the
ML libraries (a transformers ``FutureWarning`` that TRL still calls an old name) are
addressed to whoever writes code against those libraries, not to someone running a
compose file, so they become ``debug`` events: hidden by ``compose run``, dimmed on the
run page. Every other warning stays a ``warning``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compose import events

DEVELOPER_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def warning_event(
    job: str, message: Warning | str, category: type[Warning], filename: str, lineno: int
) -> events.Event:
    where = Path(filename)
    text = f"{category.__name__}: {message} ({where.parent.name}/{where.name}:{lineno})"
    level = "debug" if issubclass(category, DEVELOPER_WARNINGS) else "warning"
    return events.log(job, text, level)


def report_warnings(job: str, emit: Callable[[events.Event], None], redact: Callable[[str], str]) -> None:
    """From now on, this process's warnings go to ``emit`` (redacted) instead of stderr."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        event = warning_event(job, message, category, filename, lineno)
        event["message"] = redact(event["message"])
        emit(event)

    warnings.showwarning = show
