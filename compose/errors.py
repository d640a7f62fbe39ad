"""Problems found in a compose file, and the exception that carries them.

A :class:`Problem` names where (``components[1].lora_r``, 1-based line and column when
the text is known) and what, in words a user can act on. Validation collects every
problem before reporting, so one :class:`ComposeError` lists them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass
class Problem:
    path: str
    message: str
    line: int | None = None
    column: int | None = None
    severity: Severity = "error"
    source: str | None = None  # the file name, when known

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def location(self) -> str:
        """``file.yaml:12:5`` (as much of it as is known)."""
        parts = [self.source or "<string>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        where = f"{self.path}: " if self.path else ""
        return f"{self.location()}: {prefix}{where}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
        }


class ComposeError(Exception):
    """A compose file could not be used; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        super().__init__(str(self))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    def __str__(self) -> str:
        count = len(self.errors)
        head = f"{count} problem{'s' if count != 1 else ''} in the compose file"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])
