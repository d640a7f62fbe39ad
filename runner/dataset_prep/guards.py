"""The condition language's operators and calls that can build large values, with their limits.

Each guard checks the size of what an operation would build, charges it to the batch's
budget and only then does it. Numbers stay on a fast path: a batch whose operands are all
small numbers is computed with ``map`` as before.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from runner.dataset_prep.limits import (
    MAX_INT_BITS,
    MAX_LENGTH,
    MAX_ROUND_DIGITS,
    MAX_STRIP_CHARS,
    SIZED,
    Budget,
    LimitError,
    check_length,
)
from runner.dataset_prep.printf import printf_bound

Guard = Callable[[Any, Any, Budget], None]
_SMALL = 1 << (MAX_INT_BITS // 2)  # two such numbers multiply within MAX_INT_BITS
_NUMBERS = frozenset({int, float, bool})


def plain_numbers(op: Callable[[Any, Any], Any]) -> Callable[[list], bool]:
    """``values -> bool``: may ``op`` run on these without a guard (C-speed checks)."""
    return _numbers if op is operator.add else _small_numbers  # a sum grows by one bit at most


def _numbers(values: list) -> bool:
    return set(map(type, values)) <= _NUMBERS


def _small_numbers(values: list) -> bool:
    """Numbers of at most MAX_INT_BITS / 2 bits: two of them multiply within MAX_INT_BITS."""
    if not set(map(type, values)) <= _NUMBERS:
        return False
    # A NaN first makes max() answer NaN, which fails the comparison: the slow path, still exact.
    return not values or bool(max(values) < _SMALL and min(values) > -_SMALL)


def fits_in_bulk(op: Callable[[Any, Any], Any], a: list, b: list, budget: Budget) -> bool:
    """Text + text checked for the whole batch at C speed; False leaves it to the per-row guard."""
    if op is not operator.add or not _one_sized_type(a) or not _one_sized_type(b):
        return False
    left, right = list(map(len, a)), list(map(len, b))
    if max(map(operator.add, left, right), default=0) > MAX_LENGTH:
        return False  # the per-row guard names the offending value
    budget.charge(min(sum(left), sum(right)))  # at least what the row-by-row charge would be
    return True


def _one_sized_type(values: list) -> bool:
    kinds = set(map(type, values))
    return len(kinds) == 1 and kinds <= {str, bytes, list, tuple}


def _check_int_bits(a: int, b: int, op: str) -> None:
    if op == "*":
        bits, verb = a.bit_length() + b.bit_length(), "builds"
    else:
        bits, verb = max(a.bit_length(), b.bit_length()), "divides"
    if bits > MAX_INT_BITS:
        raise LimitError(
            f"the expression {verb} an integer of {bits:,} bits with {op}; the limit is {MAX_INT_BITS:,} bits"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def guard_add(a: Any, b: Any, budget: Budget) -> None:
    if isinstance(a, SIZED) and isinstance(b, SIZED):
        check_length(a, len(a) + len(b))
        budget.charge(min(len(a), len(b)))  # a copy of the shorter operand is what is new


def guard_mul(a: Any, b: Any, budget: Budget) -> None:
    if _is_int(a) and _is_int(b):
        _check_int_bits(a, b, "*")
        return
    sequence, times = (a, b) if isinstance(a, SIZED) else (b, a)
    if isinstance(sequence, SIZED) and _is_int(times) and times > 1:
        check_length(sequence, len(sequence) * times)
        budget.charge(len(sequence) * (times - 1))


def guard_mod(a: Any, b: Any, budget: Budget) -> None:
    if isinstance(a, (str, bytes)):
        bound = printf_bound(a, b)
        check_length(a, bound, bound="up to ")
        budget.charge(max(bound - len(a), 0))
    elif _is_int(a) and _is_int(b):
        _check_int_bits(a, b, "%")


def guard_divide(a: Any, b: Any, budget: Budget) -> None:
    if _is_int(a) and _is_int(b):
        _check_int_bits(a, b, "/")


GUARDS: dict[Callable[[Any, Any], Any], Guard] = {
    operator.add: guard_add,
    operator.mul: guard_mul,
    operator.mod: guard_mod,
    operator.truediv: guard_divide,
    operator.floordiv: guard_divide,
}


def _check_round(arguments: list[list]) -> None:
    if len(arguments) < 2:
        return
    for digits in _distinct(arguments[1]):
        if isinstance(digits, int) and abs(digits) > MAX_ROUND_DIGITS:
            raise LimitError(f"round() to {digits:,} digits; the limit is {MAX_ROUND_DIGITS:,} either way")


def _check_strip(arguments: list[list]) -> None:
    if len(arguments) < 2:
        return
    for chars in _distinct(arguments[1]):
        if isinstance(chars, str) and len(chars) > MAX_STRIP_CHARS:
            raise LimitError(f"strip() with {len(chars):,} characters to strip; the limit is {MAX_STRIP_CHARS:,}")


def _distinct(values: list) -> Any:
    try:
        return set(values)  # a literal argument repeats one value for every row
    except TypeError:
        return values


# Checks on a call's argument columns, before the function is mapped over them.
CALL_CHECKS: dict[Callable[..., Any], Callable[[list[list]], None]] = {
    round: _check_round,
    str.strip: _check_strip,
    str.lstrip: _check_strip,
    str.rstrip: _check_strip,
}
