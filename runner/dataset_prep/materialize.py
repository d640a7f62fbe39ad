"""Materialized data sets: saved once under ``storage_dir/datasets/<fingerprint>/``, then reused.

The fingerprint is a hash of what decides the content (a load's fields and its files'
bytes; an operation's parameters and its inputs' fingerprints), so the same job on any
machine sharing the storage folder finds the same folder. A data set is written to a
temporary folder and renamed into place, so a crash never leaves a half-written folder
under a fingerprint's name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from compose.jobspec import DATASET_REF_TYPE, JobFailed, is_dataset_ref
from compose.sft_formats import detect_sft_format

DATASETS_DIR = "datasets"
SUMMARY_FILE = "compose-summary.json"
# Bump when the way a fingerprint is computed or a data set is written changes.
FORMAT_VERSION = 1
PREVIEW_ROWS = 5
PREVIEW_TEXT_CHARS = 200
FINGERPRINT_CHARS = 32
# One folder name under datasets/: no separator, no "..", no hidden folder.
_REF_PATH = re.compile(rf"{DATASETS_DIR}/[0-9A-Za-z][0-9A-Za-z_-]{{0,127}}")


def fingerprint(key: dict[str, Any]) -> str:
    text = json.dumps({"v": FORMAT_VERSION, **key}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:FINGERPRINT_CHARS]


def dataset_dir(storage_dir: str | os.PathLike[str], fp: str) -> Path:
    return Path(storage_dir) / DATASETS_DIR / fp


def find_materialized(storage_dir: str | os.PathLike[str], fp: str) -> dict[str, Any] | None:
    """The reference of an already materialized data set, or None."""
    summary = dataset_dir(storage_dir, fp) / SUMMARY_FILE
    try:
        ref = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {**ref, "reused": True}


@contextmanager
def scratch_dir(storage_dir: str | os.PathLike[str], fp: str) -> Iterator[Path]:
    """A private folder for caches an operation writes on its way; removed afterwards."""
    path = Path(storage_dir) / DATASETS_DIR / f".work-{fp}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def save(dataset, storage_dir: str | os.PathLike[str], fp: str) -> dict[str, Any]:
    """Write ``dataset`` under its fingerprint and return its reference (``reused: false``)."""
    final = dataset_dir(storage_dir, fp)
    tmp = final.parent / f".tmp-{fp}-{uuid.uuid4().hex[:8]}"
    try:
        dataset.save_to_disk(str(tmp))
        ref = summarize(dataset, fp)
        (tmp / SUMMARY_FILE).write_text(json.dumps(ref, ensure_ascii=False, indent=1), encoding="utf-8")
        try:
            os.rename(tmp, final)
        except OSError:
            # Another run of the same job got there first: its folder has the same content.
            if find_materialized(storage_dir, fp) is None:
                # A folder without a summary is not ours to trust (copied in by hand, or
                # damaged): set it aside and put the fresh one in its place.
                stale = final.parent / f".stale-{fp}-{uuid.uuid4().hex[:8]}"
                os.rename(final, stale)
                shutil.rmtree(stale, ignore_errors=True)
                os.rename(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {**ref, "reused": False}


def summarize(dataset, fp: str) -> dict[str, Any]:
    columns = {name: feature_type(feature) for name, feature in dataset.features.items()}
    preview = [_preview_row(row) for row in dataset.select(range(min(PREVIEW_ROWS, len(dataset))))]
    return {
        "type": DATASET_REF_TYPE,
        "fingerprint": fp,
        "path": f"{DATASETS_DIR}/{fp}",
        "num_rows": len(dataset),
        "columns": columns,
        "preview": preview,
        "sft_format": detect_sft_format(columns),
    }


def feature_type(feature: Any) -> str:
    """A short type name for a column: ``string``, ``int64``, ``list<string>``, ``class_label``."""
    from datasets import ClassLabel, LargeList, List, Value

    if isinstance(feature, Value):
        # Arrow's 64-bit-offset variants hold the same values; users need not tell them apart.
        return {"large_string": "string", "large_binary": "binary"}.get(feature.dtype, feature.dtype)
    if isinstance(feature, ClassLabel):
        return "class_label"
    if isinstance(feature, (List, LargeList)):
        return f"list<{feature_type(feature.feature)}>"
    if isinstance(feature, (list, tuple)) and feature:
        return f"list<{feature_type(feature[0])}>"
    if isinstance(feature, dict):
        return "struct"
    return type(feature).__name__.lower()


def _preview_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: _preview_value(value) for key, value in row.items()}


def _preview_value(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= PREVIEW_TEXT_CHARS else value[:PREVIEW_TEXT_CHARS] + "…"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {k: _preview_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_preview_value(v) for v in value[:20]]
        return items + ["…"] if len(value) > 20 else items
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def load_reference(ref: dict[str, Any], storage_dir: str | os.PathLike[str]):
    """The ``datasets.Dataset`` a dataset reference points to (for the trainer and operations)."""
    from datasets import load_from_disk

    if not is_dataset_ref(ref):
        raise JobFailed(f"expected a data set (the output of a datasets job), got {_describe(ref)}")
    if not _REF_PATH.fullmatch(str(ref["path"])):
        # A reference names a data set of this storage folder by its fingerprint, nothing else.
        raise JobFailed(
            f"{_describe(ref)} is not a data set reference: its path must be "
            f"{DATASETS_DIR}/<fingerprint>, as a datasets job outputs it"
        )
    folder = Path(storage_dir) / ref["path"]
    if not (folder / "state.json").is_file():
        raise JobFailed(
            f"data set {ref.get('fingerprint', ref['path'])} is missing: no materialized "
            f"files in {folder}. Was the storage folder cleaned or not shared with this "
            "machine? Run the job that produced it again."
        )
    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    if not state.get("_data_files"):
        return _empty_dataset(folder)
    return load_from_disk(str(folder))


def _empty_dataset(folder: Path):
    """A saved data set with no rows has no Arrow file, which ``load_from_disk`` cannot
    read back; rebuild it, columns and types included, from its saved info."""
    from datasets import Dataset, DatasetInfo

    info = DatasetInfo.from_directory(str(folder))
    return Dataset.from_dict({name: [] for name in info.features}, features=info.features, info=info)


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:80] + "…"
