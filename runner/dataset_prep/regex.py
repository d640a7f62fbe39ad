"""User regular expressions, run by RE2: time linear in the text, whatever the pattern.

Python's ``re`` backtracks: ``^(a+)+$`` on 29 characters took almost a minute, doubling
with each one. RE2 has no backtracking, so it refuses the few features that need it
(backreferences, lookahead, lookbehind); the error says which and why, before any row.
"""

from __future__ import annotations

from collections.abc import Callable

_NO_BACKTRACKING = "RE2 matches in time linear in the text, so it has no {}"
_HINTS = {
    "invalid perl operator: (?=": _NO_BACKTRACKING.format("lookahead (?=...)"),
    "invalid perl operator: (?!": _NO_BACKTRACKING.format("negative lookahead (?!...)"),
    "invalid perl operator: (?<=": _NO_BACKTRACKING.format("lookbehind (?<=...)"),
    "invalid perl operator: (?<!": _NO_BACKTRACKING.format("negative lookbehind (?<!...)"),
    "invalid perl operator: (?P=": _NO_BACKTRACKING.format("backreferences (?P=name)"),
    "invalid escape sequence: \\Z": "RE2 writes the end of the text as \\z",
    "bad repetition operator": "RE2 has no nested or possessive repetition such as {2}{3} or a++",
    "invalid repetition size": "RE2 counts repetitions up to {1000}",
    "pattern too large": "the pattern needs more than RE2's memory limit",
}
_SHOWN = 80  # characters of a long pattern repeated in the message


class RegexError(ValueError):
    pass


def compile_search(pattern: str) -> Callable[[str], bool]:
    """``text -> bool``: does ``pattern`` occur in the text (``re.search`` semantics)."""
    import re2

    options = re2.Options()
    options.log_errors = False  # the reason goes into our error, not onto stderr
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as exc:
        raise RegexError(_reason(pattern, exc)) from None
    return lambda text: compiled.search(text) is not None


def _reason(pattern: str, exc: Exception) -> str:
    raw = exc.args[0] if exc.args else str(exc)
    detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if detail.startswith("invalid perl operator: (?P") and "(?P=" in pattern:
        detail = "invalid perl operator: (?P="
    hint = next((h for prefix, h in _HINTS.items() if detail.startswith(prefix)), "")
    if detail.startswith("invalid escape sequence: \\") and detail[-1:].isdigit():
        hint = _NO_BACKTRACKING.format("backreferences (\\1)")
    shown = repr(pattern) if len(pattern) <= _SHOWN else repr(pattern[:_SHOWN]) + f"… ({len(pattern):,} characters)"
    extra = f"; {hint}" if hint else ""
    return f"invalid regular expression {shown}: {detail}{extra} (syntax: https://github.com/google/re2/wiki/Syntax)"
