"""Local data files: which files a load reads, grouped by split, and a hash of their bytes."""

from __future__ import annotations

import glob
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compose.jobspec import DATA_FILES_GLOB, JobFailed

# Extensions a folder scan picks up for each loader. The json loader reads JSON Lines too.
LOADER_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "json": (".json", ".jsonl"),
    "jsonl": (".jsonl", ".json"),
    "csv": (".csv",),
    "parquet": (".parquet",),
    "text": (".txt", ".text"),
}
# The name of the packaged ``datasets`` builder for each loader.
BUILDERS: dict[str, str] = {"json": "json", "jsonl": "json", "csv": "csv", "parquet": "parquet", "text": "text"}
_EXTENSION_LOADER: dict[str, str] = {
    ".json": "json",
    ".jsonl": "json",
    ".csv": "csv",
    ".parquet": "parquet",
    ".txt": "text",
    ".text": "text",
}
# File or folder names that put a file of a scanned folder into a split.
_SPLIT_WORDS: dict[str, str] = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "test": "test",
    "testing": "test",
}


@dataclass
class DataFiles:
    """The files of a local load: ``splits`` maps a split name to its files, in order."""

    loader: str
    splits: dict[str, list[Path]]

    @property
    def builder(self) -> str:
        return BUILDERS[self.loader]

    def as_data_files(self) -> dict[str, list[str]]:
        return {split: [str(p) for p in paths] for split, paths in self.splits.items()}

    def content_key(self) -> dict[str, Any]:
        """What identifies the data: per split, each file's name and the sha256 of its bytes."""
        return {
            "loader": self.builder,
            "splits": {
                split: [[p.name, file_sha256(p)] for p in paths] for split, paths in sorted(self.splits.items())
            },
        }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


Inside = Callable[[Path, str], Path]


def _anywhere(path: Path, shown: str) -> Path:
    return path


def resolve_data_files(
    loader: str | None,
    data_files: Any,
    data_dir: str | None,
    path: str | None,
    resolve: Callable[[str], Path],
    inside: Inside = _anywhere,
) -> DataFiles:
    """Expand a load's ``data_files`` / ``data_dir`` (or a local ``path``) into files per split.

    A single path or a list of paths is all ``train`` (a list is concatenated, as the
    ``datasets`` library does); a mapping names the splits. ``data_dir`` reads every file
    of the loader's type below the folder; when every one of them is named by a split
    (``train.json``, ``test/part-1.json``) they are grouped so, else they are all ``train``.
    ``resolve`` makes a written path absolute (refusing one outside the workspace);
    ``inside(file, as_written)`` checks each file a glob or folder scan found, since
    a symlink met on the way can lead elsewhere.
    """
    if data_files is not None:

        def here(entry: str) -> Path:
            # With data_dir, data_files are relative to it (as in the datasets library).
            return resolve(os.path.join(data_dir, entry) if data_dir else entry)

        if isinstance(data_files, dict):
            if not data_files:
                raise JobFailed("data_files is an empty mapping: give split: path entries")
            splits = {str(split): _expand_all(entries, here, loader, inside) for split, entries in data_files.items()}
        else:
            splits = {"train": _expand_all(data_files, here, loader, inside)}
    elif data_dir or path:
        folder = resolve(data_dir or path or "")
        if folder.is_file():
            splits = {"train": [folder]}
        elif not folder.is_dir():
            field = "data_dir" if data_dir else "path"
            raise JobFailed(f"{field} {data_dir or path!r} not found (looked for {folder})")
        else:
            splits = _scan_folder(folder, loader, inside, str(data_dir or path))
    else:
        raise JobFailed("a local load needs data_files (a path, a list, or split: path entries) or data_dir")
    return DataFiles(loader=loader or _infer_loader(splits), splits=splits)


def _expand_all(entries: Any, here: Callable[[str], Path], loader: str | None, inside: Inside) -> list[Path]:
    items = [entries] if isinstance(entries, str) else list(entries)
    if not items:
        raise JobFailed("data_files has an empty list")
    out: list[Path] = []
    for entry in items:
        out.extend(_expand(str(entry), here, loader, inside))
    return out


def _expand(entry: str, here: Callable[[str], Path], loader: str | None, inside: Inside) -> list[Path]:
    target = here(entry)
    if DATA_FILES_GLOB.search(entry):
        matches = sorted(Path(m) for m in glob.glob(str(target), recursive=True) if Path(m).is_file())
        if not matches:
            raise JobFailed(f"no data file matches {entry!r} (looked for {target})")
        return [inside(m, entry) for m in matches]
    if target.is_dir():
        return [p for paths in _scan_folder(target, loader, inside, entry).values() for p in paths]
    if not target.is_file():
        raise JobFailed(f"data file {entry!r} not found (looked for {target})")
    return [target]


def _scan_folder(folder: Path, loader: str | None, inside: Inside, shown: str) -> dict[str, list[Path]]:
    extensions = LOADER_EXTENSIONS[loader] if loader else tuple(_EXTENSION_LOADER)
    files = sorted(
        inside(p, shown)
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in extensions
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        kinds = ", ".join(extensions)
        raise JobFailed(f"data_dir {folder} holds no data files ({kinds})")
    named = [(_split_of(p.relative_to(folder)), p) for p in files]
    if all(split for split, _ in named):
        grouped: dict[str, list[Path]] = {}
        for split, p in named:
            grouped.setdefault(split or "train", []).append(p)
        return grouped
    return {"train": files}


def _split_of(relative: Path) -> str | None:
    for part in relative.parts:
        for token in re.split(r"[-_.\s]+", Path(part).stem.lower() if part == relative.name else part.lower()):
            if token in _SPLIT_WORDS:
                return _SPLIT_WORDS[token]
    return None


def _infer_loader(splits: dict[str, list[Path]]) -> str:
    kinds = {_EXTENSION_LOADER.get(p.suffix.lower()) for paths in splits.values() for p in paths}
    if len(kinds) == 1 and None not in kinds:
        return kinds.pop()  # type: ignore[return-value]
    raise JobFailed("cannot tell the file type from the file names: set loader: json, csv, parquet or text")
