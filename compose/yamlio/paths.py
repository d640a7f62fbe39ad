"""Paths into a YAML document: ``workflows[0].jobs[2].input.dataset``."""

from __future__ import annotations

import re

Segment = str | int

_TOKEN = re.compile(r"\[(-?\d+)\]|\.?([^.\[\]]+)")


def join(*segments: Segment) -> str:
    """``join("components", 1, "lora_r") == "components[1].lora_r"``."""
    out = ""
    for seg in segments:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif out:
            out += f".{seg}"
        else:
            out = str(seg)
    return out


def child(path: str, segment: Segment) -> str:
    return join(path, segment) if path else join(segment)


def split(path: str) -> list[Segment]:
    """The inverse of :func:`join`: ``"a[1].b"`` -> ``["a", 1, "b"]``."""
    segments: list[Segment] = []
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if not match or match.end() == pos:
            raise ValueError(f"not a path: {path!r}")
        index, key = match.groups()
        segments.append(int(index) if index is not None else key)
        pos = match.end()
    return segments


def parent(path: str) -> str:
    """``parent("a[1].b") == "a[1]"``; the root's parent is the root ("")."""
    segments = split(path)
    return join(*segments[:-1]) if len(segments) > 1 else ""
