"""A run's files on disk: which may be served, how big they are, opening one safely.

The workspace's folders (``Workspace.root`` and ``Workspace.storage``) are the boundary:
a path is served only when its real location, every symlink followed, lies inside one of
them (``compose.confine.is_inside``). Jobs write these folders, so a symlink there can point
anywhere; each file is checked as it is opened, not only the folder it sits in.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from compose.confine import is_inside, real_roots


def workspace_roots(workspace) -> list[Path]:
    """The real folders a download of ``workspace`` may read from."""
    return real_roots([workspace.root, workspace.storage])


def artifact_location(run, path: str) -> Path:
    """An artifact's path as an absolute path (a relative one is relative to the workspace)."""
    raw = Path(path).expanduser()
    return raw if raw.is_absolute() else Path(run.workspace.root) / raw


def open_inside(path: str | os.PathLike[str], roots: Sequence[Path]) -> BinaryIO | None:
    """``path`` opened for reading when it is a regular file inside ``roots``, else None.

    The check is made on the real path, then again on the file actually opened (Linux
    names it in /proc), so a folder swapped for a symlink in between cannot lead out.
    """
    real = os.path.realpath(path)
    if not is_inside(real, roots):
        return None
    try:
        # O_NONBLOCK: opening a FIFO someone left there must not hang the request.
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        opened = real  # no /proc: the check above is all there is
    if not stat.S_ISREG(os.fstat(fd).st_mode) or not is_inside(opened, roots):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


@dataclass(frozen=True)
class Entry:
    """One member of a folder download: ``name`` relative to the folder, ``/``-separated."""

    name: str
    path: Path
    is_dir: bool


def folder_entries(folder: Path) -> Iterator[Entry]:
    """Every subfolder and file below ``folder``, sorted, without descending into a
    symlinked folder (it may lead out of the workspace or back into itself). A symlinked
    file is listed; :func:`open_inside` decides whether it is read."""
    for here, dirs, files in os.walk(folder, followlinks=False):
        base = Path(here)
        dirs[:] = sorted(d for d in dirs if not os.path.islink(base / d))
        prefix = base.relative_to(folder).as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        for name in dirs:
            yield Entry(prefix + name + "/", base / name, True)
        for name in sorted(files):
            yield Entry(prefix + name, base / name, False)


def folder_bytes(path: Path) -> int:
    """Bytes of the regular files under ``path`` (or of ``path`` itself), symlinks not
    followed: what removing it frees."""
    try:
        top = os.lstat(path)
    except OSError:
        return 0
    if not stat.S_ISDIR(top.st_mode):
        return top.st_size if stat.S_ISREG(top.st_mode) else 0
    total = 0
    for here, _dirs, files in os.walk(path, followlinks=False):
        for name in files:
            try:
                info = os.lstat(os.path.join(here, name))
            except OSError:
                continue  # removed while we counted
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total
