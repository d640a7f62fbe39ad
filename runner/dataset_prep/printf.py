"""An upper bound on the length of ``format % args`` (printf-style), found without formatting.

``'%0999999999d' % 1`` is a gigabyte; so is ``'%(t)s' * 10**5 % row`` with a long ``t``.
The format is read the way CPython reads it (``Objects/unicodeobject.c``,
``unicode_format_arg_parse``): an optional ``(key)`` with nested parentheses, flags,
a width (digits or ``*``), a precision (``.`` then digits or ``*``), an ignored
``h``/``l``/``L``, and the conversion. Where CPython would raise (a missing argument, an
incomplete format), the bound stops there: nothing after that point is ever written.
"""

from __future__ import annotations

from typing import Any

_FLAGS = frozenset("-+ #0")
_NUMERIC = frozenset("diuoxXeEfFgG")
# The most characters a number takes before its precision and padding: 1e308 printed with
# %f is 309 digits, plus sign, point and an exponent.
_NUMBER_CHARS = 330


class _Stop(Exception):
    """CPython raises here, so nothing further is written."""


def printf_bound(fmt: str | bytes, args: Any) -> int:
    text = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    excluded = (tuple, str, bytes, bytearray) if isinstance(fmt, bytes) else (tuple, str)
    mapping = args if hasattr(args, "__getitem__") and not isinstance(args, excluded) else None
    reader = _Arguments(args)
    total = len(text)
    start = text.find("%")
    while start >= 0:
        try:
            end, extra = _spec(text, start + 1, mapping, reader, isinstance(fmt, bytes))
        except _Stop:
            return total
        total += extra
        start = text.find("%", end)
    return total


class _Arguments:
    """CPython's ``getnextarg``: a tuple's items in turn, any other object once."""

    def __init__(self, args: Any):
        self.items = args if isinstance(args, tuple) else (args,)
        self.index = 0
        self.keyed: list | None = None  # after ``%(key)``: that one value, once

    def next(self) -> Any:
        if self.keyed is not None:
            if not self.keyed:
                raise _Stop
            return self.keyed.pop()
        if self.index >= len(self.items):
            raise _Stop
        self.index += 1
        return self.items[self.index - 1]


def _spec(text: str, i: int, mapping: Any, reader: _Arguments, is_bytes: bool) -> tuple[int, int]:
    """Read one conversion starting after its ``%``; return where it ends and its most characters."""
    size = len(text)
    reader.keyed = None
    if i < size and text[i] == "(":
        if mapping is None:
            raise _Stop
        depth, i = 1, i + 1
        key_start = i
        while depth and i < size:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        if depth:
            raise _Stop
        key: Any = text[key_start : i - 1]
        try:
            reader.keyed = [mapping[key.encode("latin-1") if is_bytes else key]]
        except Exception:
            raise _Stop from None
    while i < size and text[i] in _FLAGS:
        i += 1
    width, i = _number(text, i, reader)
    precision = 0
    if i < size and text[i] == ".":
        precision, i = _number(text, i + 1, reader)
    if i < size and text[i] in "hlL":
        i += 1
    if i >= size:
        raise _Stop
    conversion = text[i]
    if conversion == "%":
        return i + 1, width + precision
    return i + 1, width + precision + _rendered(conversion, reader.next(), is_bytes)


def _number(text: str, i: int, reader: _Arguments) -> tuple[int, int]:
    if i < len(text) and text[i] == "*":
        value = reader.next()
        if not isinstance(value, int):
            raise _Stop
        return abs(value), i + 1
    j = i
    while j < len(text) and text[j] in "0123456789":
        j += 1
    return (int(text[i:j]) if j > i else 0), j


def _rendered(conversion: str, value: Any, is_bytes: bool) -> int:
    if conversion == "c":
        return 1
    if conversion in "ra":
        return len(ascii(value))  # ascii() is repr() with escapes: never shorter
    if conversion == "s" or (is_bytes and conversion == "b"):
        if is_bytes and isinstance(value, (bytes, bytearray)):
            return len(value)
        return len(ascii(value)) if is_bytes else len(str(value))
    if conversion in _NUMERIC:
        if isinstance(value, int):
            return _NUMBER_CHARS + value.bit_length()  # binary digits outnumber any base's
        if isinstance(value, float):
            return _NUMBER_CHARS
        return _NUMBER_CHARS + 4 * len(str(value))
    raise _Stop  # an unsupported conversion: CPython raises
