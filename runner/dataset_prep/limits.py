"""Limits on what a user's condition, ``where`` tree or map template may build or nest.

A filter runs its condition over 10,000 rows at a time and a map renders 1,000, so one
row's limit is multiplied by the batch: the per-value limit keeps a single value sane,
the batch budget keeps a whole batch within memory. Every check runs before the work it
guards, so a size bomb is refused without being built.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

# A condition or template is typed by a person; 100,000 characters is a long chat
# template many times over, and bounds how many nodes (and repeated literals) one can hold.
MAX_SOURCE_LENGTH = 100_000
# Nesting of a parsed expression or a where tree. Real conditions nest a handful of levels;
# Python's own parser gives up, without saying where, somewhere past 1,000.
MAX_DEPTH = 100
# Characters of a string (items of a list, bytes of a bytes value) that one row's
# expression or template builds: a 10 MB document is far beyond any training example.
MAX_LENGTH = 10_000_000
# What one batch may build beyond its own size: up to ~800 MB of Python text at 4 bytes a
# character. Copying the batch's values (``prompt + response``) is always allowed on top.
MAX_BATCH_BUILT = 200_000_000
# Operands of integer * / // %: about 3,000 decimal digits, below the 4,300 digits Python
# will print, while multiplying or dividing such numbers stays in microseconds.
MAX_INT_BITS = 10_000
# round(x, n): a float has no digit past the 324th decimal place, and round(5, -10**8)
# computes 10**(10**8) (minutes of CPU) to return 0.
MAX_ROUND_DIGITS = 1_000
# strip(chars) checks every character against ``chars``: a long set makes it quadratic.
MAX_STRIP_CHARS = 1_000

SIZED = (str, bytes, list, tuple)


class LimitError(ValueError):
    """An expression or template would exceed a limit."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BatchLimitError(LimitError):
    """A batch as a whole would exceed its budget: no single row is to blame."""


def describe(value: Any, size: int) -> str:
    """``a string of 12 characters``, ``a list of 3 items``..."""
    if isinstance(value, str):
        return f"a string of {size:,} characters"
    if isinstance(value, bytes):
        return f"a bytes value of {size:,} bytes"
    return f"a {type(value).__name__} of {size:,} items"


def check_length(value: Any, size: int, bound: str = "") -> None:
    """Refuse building ``size`` elements of ``value``'s kind; ``bound`` is e.g. "up to " for an estimate."""
    if size > MAX_LENGTH:
        what = describe(value, size).replace(" of ", f" of {bound}", 1)
        raise LimitError(f"the expression builds {what}; the limit is {MAX_LENGTH:,}")


class Budget:
    """What one batch's evaluation has built so far, against ``MAX_BATCH_BUILT`` plus the batch's own size."""

    def __init__(self, batch: dict[str, list] | None = None):
        self.batch = batch
        self.used = 0
        self.allowance: int | None = None  # measured only once the fixed budget is spent

    def charge(self, size: int) -> None:
        self.used += size
        if self.used <= MAX_BATCH_BUILT:
            return
        if self.allowance is None:
            self.allowance = MAX_BATCH_BUILT + _batch_size(self.batch or {})
        if self.used > self.allowance:
            raise BatchLimitError(
                f"the expression builds more than {self.allowance:,} characters for one batch "
                f"of rows ({MAX_BATCH_BUILT:,} beyond the batch's own values)"
            )


_BUDGET: ContextVar[Budget | None] = ContextVar("expression_budget", default=None)


def current_budget() -> Budget:
    return _BUDGET.get() or Budget()  # a fresh one for a node evaluated outside a Condition


def start_batch(batch: dict[str, list]) -> Any:
    """Give the batch about to be evaluated a fresh budget; pass the result to :func:`end_batch`."""
    return _BUDGET.set(Budget(batch))


def end_batch(token: Any) -> None:
    _BUDGET.reset(token)


def _batch_size(batch: dict[str, list]) -> int:
    return sum(len(v) for column in batch.values() for v in column if isinstance(v, SIZED))
