from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError

from compose.errors import Problem


class RunRefused(ValidationError):
    """A run cannot be queued; ``problems`` says why, each with its path and line.

    A ``ValidationError`` so a form can show it with ``form.add_error(None, exc)``.
    """

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        super().__init__([str(p) for p in self.problems] or ["the run was refused"])


class InvalidTransition(Exception):
    """A status change the run's state machine does not allow (see ``Run``)."""

    def __init__(self, run_id: int, current: str, wanted: str):
        self.run_id, self.current, self.wanted = run_id, current, wanted
        super().__init__(f"run {run_id} is {current}; it cannot become {wanted}")
