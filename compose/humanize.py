"""Durations in words, the one way every layer writes them (the CLI, the pages;
``static/js/format.js`` mirrors it for live updates and a test pins that they agree).

>>> human_duration(75)
'1 min 15 s'
>>> human_duration(7200)
'2 h'
>>> human_duration(None)
'—'
"""

from __future__ import annotations

import math


def round_half_up(x: float) -> int:
    """``2.5`` -> 3 as JavaScript's ``Math.round`` does (Python's ``round`` gives 2), so the
    page's live text and the server's agree."""
    return math.floor(x + 0.5)


def human_duration(seconds: float | None) -> str:
    """Rounded to the second, then the two largest units: ``3 s``, ``1 min 15 s``,
    ``2 h 5 min``, ``3 d 1 h`` (days from 48 hours on); ``None`` is ``—``."""
    if seconds is None:
        return "—"
    whole = round_half_up(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, whole = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {whole} s" if whole else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"
