"""The "did you mean" hint every message of the core ends with when a name is close to one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, choices: Iterable[str], *, prefix: bool = False, cutoff: float = 0.6) -> str | None:
    """The choice ``name`` most likely meant: one it begins (``prefix``), else a spelling at
    least ``cutoff`` similar (difflib's ratio)."""
    names = [str(choice) for choice in choices]
    if prefix and name:
        started = [choice for choice in names if choice.startswith(name)]
        if started:
            return started[0]
    match = difflib.get_close_matches(str(name), names, n=1, cutoff=cutoff)
    return match[0] if match else None


def did_you_mean(
    name: str, choices: Iterable[str], *, quote: bool = True, prefix: bool = False, cutoff: float = 0.6
) -> str:
    """`` (did you mean `x`?)`` for a close match, else an empty string. ``quote``: the
    message writes names in backticks (ids do; field names and values do not)."""
    match = closest(name, choices, prefix=prefix, cutoff=cutoff)
    if match is None:
        return ""
    return f" (did you mean `{match}`?)" if quote else f" (did you mean {match}?)"
