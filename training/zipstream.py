"""A folder as a zip archive, produced piece by piece while it is sent.

``zipfile`` writes to an unseekable stream by putting each member's sizes and CRC in a
data descriptor after its bytes, so nothing is held back: memory stays at one chunk
whatever the folder's size, and the first bytes leave before the last file is read.
ZIP64 records are written where a member or the archive passes 4 GiB.

Weights, Arrow tables and already-compressed files are *stored*: deflating gigabytes of
float tensors costs minutes of CPU for a few per cent. Other files (JSON, logs, text)
under ``DEFLATE_MAX_BYTES`` are deflated.
"""

from __future__ import annotations

import os
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from training.run_files import Entry

CHUNK = 1 << 20
DEFLATE_MAX_BYTES = 32 << 20
STORED_SUFFIXES = frozenset(
    {
        ".safetensors",
        ".bin",
        ".pt",
        ".pth",
        ".ckpt",
        ".gguf",
        ".onnx",
        ".h5",
        ".msgpack",
        ".npy",
        ".npz",
        ".arrow",
        ".parquet",
        ".tfevents",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".zst",
        ".zip",
        ".7z",
        ".png",
        ".jpg",
        ".jpeg",
        ".webp",
    }
)

Opener = Callable[[Path], "BinaryIO | None"]


class _Sink:
    """The unseekable file ``zipfile`` writes to; :meth:`drain` hands over what it wrote."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass  # zipfile never closes a file it was handed; a writable file has this all the same

    def drain(self) -> Iterator[bytes]:
        if self._parts:
            data = b"".join(self._parts)
            self._parts.clear()
            yield data


def stream_zip(entries: Iterator[Entry], open_file: Opener) -> Iterator[bytes]:
    """The zip archive of ``entries``, in chunks of about :data:`CHUNK` bytes.

    ``open_file`` opens a member for reading or returns None to leave it out (a symlink
    that leads outside, a FIFO). A file is read up to the size it had when its turn came,
    so one still being appended to (a log) ends where its entry says it does.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
        for entry in entries:
            if not _encodable(entry.name):
                continue  # a name that is not UTF-8 would break the archive half-way
            if entry.is_dir:
                archive.mkdir(_info(entry.name, _mtime(entry.path), dir_mode=True))
            else:
                handle = open_file(entry.path)
                if handle is None:
                    continue
                with handle:
                    found = os.fstat(handle.fileno())
                    size = found.st_size
                    info = _info(entry.name, found.st_mtime, dir_mode=False)
                    info.file_size = size  # decides whether the entry needs ZIP64
                    info.compress_type = _compression(entry.name, size)
                    with archive.open(info, "w") as member:
                        left = size
                        while left > 0:
                            chunk = handle.read(min(CHUNK, left))
                            if not chunk:
                                break  # truncated while we read: the entry says so
                            left -= len(chunk)
                            member.write(chunk)
                            yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()


def _encodable(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _compression(name: str, size: int) -> int:
    if size > DEFLATE_MAX_BYTES or Path(name).suffix.lower() in STORED_SUFFIXES or ".tfevents." in name:
        return zipfile.ZIP_STORED
    return zipfile.ZIP_DEFLATED


def _mtime(path: Path) -> float:
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return time.time()


def _info(name: str, mtime: float, *, dir_mode: bool) -> zipfile.ZipInfo:
    t = time.localtime(mtime)
    stamp = (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
    # The zip format counts years from 1980 to 2107.
    stamp = max(min(stamp, (2107, 12, 31, 23, 59, 58)), (1980, 1, 1, 0, 0, 0))
    info = zipfile.ZipInfo(name, date_time=stamp)
    if dir_mode:
        info.external_attr = (0o40755 << 16) | 0x10  # a folder, for Unix and for DOS readers
        info.file_size = info.compress_size = info.CRC = 0
    else:
        info.external_attr = 0o644 << 16
    return info
