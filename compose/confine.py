"""Keeping a job's paths inside its workspace: one rule for the engine and the runner.

A path is *inside* when its real location (every symlink followed) is one of the allowed
roots or below one. The engine checks each path-valued field as a job is built; the runner
checks again each file it actually opens, since a glob or a folder scan can meet a
symlink that points elsewhere (``link-*/x.jsonl``, ``data_dir: ./symfiles``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path


class PathOutside(ValueError):
    """A path leaves the folders a job may use; the message says which path and why."""


def real_roots(roots: Iterable[str | os.PathLike[str]]) -> list[Path]:
    return [Path(os.path.realpath(root)) for root in roots]


def is_inside(path: str | os.PathLike[str], roots: Sequence[Path]) -> bool:
    """True when ``path``'s real location is one of ``roots`` (already real) or below one."""
    real = Path(os.path.realpath(path))
    return any(real == root or root in real.parents for root in roots)


def confine(
    value: str,
    base: str | os.PathLike[str],
    *,
    roots: Sequence[str | os.PathLike[str]] = (),
    allow_absolute: bool = False,
) -> Path:
    """The absolute path ``value`` names (relative to ``base``), or :class:`PathOutside`.

    A relative path may never climb out of ``base``. With ``roots`` (a web workspace), the
    real location must lie inside one of them, symlinks followed; without (``compose run``,
    the user owns the machine), an absolute path is accepted when ``allow_absolute``.
    """
    base_path = Path(os.path.realpath(base))
    raw = Path(value).expanduser()  # ~/x is absolute: the same rules as /home/.../x
    target = Path(os.path.realpath(raw if raw.is_absolute() else base_path / raw))
    allowed = real_roots(roots) or [base_path]
    if any(target == root or root in target.parents for root in allowed):
        return target
    if raw.is_absolute():
        if allow_absolute and not roots:
            return target
        raise PathOutside(f"{value} is outside the workspace ({base_path}); use a path inside it")
    if roots and _climbs_inside(raw, base_path):
        raise PathOutside(f"{value} leads outside the workspace through a symbolic link")
    raise PathOutside(f"{value} leaves the folder it is relative to ({base_path})")


def _climbs_inside(raw: Path, base: Path) -> bool:
    """True when ``raw`` stays inside ``base`` as written (so a symlink took it out)."""
    lexical = Path(os.path.normpath(base / raw))
    return lexical == base or base in lexical.parents
