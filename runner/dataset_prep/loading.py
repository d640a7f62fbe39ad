"""The ``load`` operation: local files or a hub data set, one split, an optional seeded sample."""

from __future__ import annotations

import json
import logging
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from compose.jobspec import JobCancelled, JobFailed
from compose.schema.components import DATASET_LOADERS, HUB_ONLY_FIELDS, DatasetsLoad
from runner.dataset_prep import hub
from runner.dataset_prep.files import DataFiles, resolve_data_files
from runner.dataset_prep.progress import RowProgress

# Rows buffered when shuffling a stream (the datasets library's default).
STREAM_SHUFFLE_BUFFER = 1000
STREAM_BATCH_ROWS = 1000


def is_local_load(cfg: DatasetsLoad, ctx) -> bool:
    """Files on disk rather than a hub id: ``provider: local``, a ``loader``, or a ``path``
    that names an existing file or folder (e.g. a job input ``path: ./data``)."""
    if cfg.provider == "local" or cfg.loader:
        return True
    if cfg.path in DATASET_LOADERS:
        return True  # nested dialect: ``action: {path: json, data_files: ...}``
    if cfg.path:
        # A hub id with data_files/data_dir picks files inside that hub repository.
        return cfg.path.startswith((".", "/", "~")) or ctx.resolve_path(cfg.path).exists()
    return cfg.data_files is not None or bool(cfg.data_dir)


def local_files(cfg: DatasetsLoad, ctx) -> DataFiles:
    """The files a local load reads. With ``path`` and ``data_files``, ``path`` is the folder
    the files are named in (as in the ``datasets`` library); a path naming a file, or a
    path beside ``data_dir``, would leave one of the two unread, so it fails."""
    loader = cfg.loader or (cfg.path if cfg.path in DATASET_LOADERS else None)
    path = None if cfg.path in DATASET_LOADERS else cfg.path
    data_dir = cfg.data_dir
    if path and data_dir:
        raise JobFailed(f"a local load reads one folder: give path ({path!r}) or data_dir ({data_dir!r}), not both")
    if path and cfg.data_files is not None:
        if not ctx.resolve_path(path).is_dir():
            raise JobFailed(
                f"path {path!r} is not a folder, and data_files names the files to read: give "
                "path or data_files (with path, data_files are named inside that folder)"
            )
        data_dir, path = path, None
    for name in HUB_ONLY_FIELDS:
        if getattr(cfg, name) not in (None, False):
            ctx.log(
                f"{name} has no effect on a load of local files (it is passed to the Hugging Face Hub only)", "warning"
            )
    return resolve_data_files(loader, cfg.data_files, data_dir, path, ctx.resolve_path, ctx.check_inside)


def sample_size(num_rows: int, fraction: float) -> int:
    """``ceil(n * fraction)``, computed on the decimal the user wrote (10 * 0.3 is 3, not 4)."""
    return min(num_rows, math.ceil(Decimal(str(fraction)) * num_rows))


def load_local(ctx, cfg: DatasetsLoad, files: DataFiles, cache_dir: Path):
    from datasets import load_dataset

    split = _choose_split(cfg.split, list(files.splits))
    extra: dict[str, Any] = {"name": cfg.name} if cfg.name else {}
    cache = cache_dir
    if cfg.cache_dir:
        cache = ctx.resolve_path(cfg.cache_dir)
        # The library keys its cache of local files on their size and modification time;
        # we only get here when the bytes changed (a new fingerprint), so convert afresh.
        extra["download_mode"] = "force_redownload"
    with _LibraryErrors() as library_errors:
        try:
            loaded = load_dataset(
                files.builder,
                data_files=files.as_data_files(),
                split=split,
                cache_dir=str(cache),
                streaming=cfg.streaming,
                **extra,
            )
            # A stream reads its files here, so its read errors are caught here too.
            return _sample(ctx, cfg, loaded, split, cache_dir)
        except (JobFailed, JobCancelled):
            raise
        except Exception as exc:
            raise JobFailed(_read_error(exc, files, library_errors.messages)) from exc


def load_hub(ctx, cfg: DatasetsLoad, scratch: Path):
    from datasets import DatasetDict, IterableDatasetDict, load_dataset

    if not cfg.path:
        raise JobFailed("a hub load needs path: the data set's id on the Hugging Face Hub (e.g. tatsu-lab/alpaca)")
    env = ctx.spec.env
    hub.check_remote_code(cfg.trust_remote_code, env)
    hub.ensure_reachable(env)
    if cfg.trust_remote_code:
        ctx.log(
            "trust_remote_code is allowed by the workspace; note that datasets 5 loads only "
            "data sets without a loading script",
            "warning",
        )
    token = cfg.token or env.get("HF_TOKEN") or None
    kwargs: dict[str, Any] = {
        "name": cfg.name,
        "revision": cfg.revision,
        "token": token,
        "streaming": cfg.streaming,
        "data_files": cfg.data_files,
        "data_dir": cfg.data_dir,
    }
    if cfg.cache_dir:
        kwargs["cache_dir"] = str(ctx.resolve_path(cfg.cache_dir))
    try:
        with hub.offline_mode(env):
            loaded = load_dataset(cfg.path, split=cfg.split, **kwargs)
    except Exception as exc:
        message = f"cannot load {cfg.path!r} from the Hugging Face Hub: {type(exc).__name__}: {exc}"
        if hub.hub_offline(env):
            message += (
                " (HF_HUB_OFFLINE=1: only data sets already in the cache load; "
                "set cache_dir to the cache that holds it)"
            )
        raise JobFailed(ctx.redact(message)) from exc
    split = cfg.split
    if isinstance(loaded, (DatasetDict, IterableDatasetDict)):
        split = _choose_split(None, list(loaded))
        loaded = loaded[split]
    return _sample(ctx, cfg, loaded, split or "train", scratch)


def _choose_split(wanted: str | None, available: list[str]) -> str:
    if wanted:
        base = re.split(r"[\[+]", wanted, maxsplit=1)[0].strip()
        if base not in available:
            raise JobFailed(f"split {wanted!r} does not exist; the data has: {', '.join(available)}")
        return wanted
    if "train" in available:
        return "train"
    raise JobFailed(f"no split given and there is no 'train' split: set split to one of {', '.join(available)}")


def _sample(ctx, cfg: DatasetsLoad, loaded, split: str, scratch: Path):
    """Apply shuffle and fraction; a stream is read and written to ``scratch`` here, with progress."""
    from datasets import IterableDataset

    if isinstance(loaded, IterableDataset):
        stream, total = take_from_stream(loaded, split, cfg.fraction, cfg.shuffle, cfg.seed)
        return materialize_stream(ctx, stream, total, scratch)
    if cfg.shuffle:
        loaded = loaded.shuffle(seed=cfg.seed, keep_in_memory=True)
    keep = sample_size(len(loaded), cfg.fraction)
    if keep < len(loaded):
        loaded = loaded.select(range(keep))
    return loaded


def stream_size(stream, split: str) -> int | None:
    """Rows in a streamed split when the builder's info knows it."""
    splits = getattr(stream.info, "splits", None) or {}
    base = re.split(r"[\[+]", split, maxsplit=1)[0]
    info = splits.get(base) if hasattr(splits, "get") else None
    return getattr(info, "num_examples", None) or None


def take_from_stream(stream, split: str, fraction: float, shuffle: bool, seed: int):
    """A lazy stream of the sampled rows; ``(stream, expected_rows)``."""
    total = stream_size(stream, split)
    if shuffle:
        stream = stream.shuffle(seed=seed, buffer_size=STREAM_SHUFFLE_BUFFER)
    if fraction < 1:
        if total is None:
            raise JobFailed(
                f"fraction {fraction:g} needs the size of split {split!r}, which a stream of "
                "these files does not report: set streaming: false, or fraction: 1"
            )
        total = sample_size(total, fraction)
        stream = stream.take(total)
    return stream, total


def materialize_stream(ctx, stream, total: int | None, scratch: Path):
    """Write a stream's rows to an Arrow file in ``scratch`` as they arrive, reporting rows read.

    Rows go to disk batch by batch, so a stream larger than memory can be materialized.
    """
    from datasets import Dataset

    progress = RowProgress(ctx, "load", total)

    def rows():
        for batch in stream.iter(batch_size=STREAM_BATCH_ROWS):
            names = list(batch)
            count = len(batch[names[0]]) if names else 0
            for values in zip(*(batch[name] for name in names), strict=True):
                yield dict(zip(names, values, strict=True))
            progress.advance(count)

    try:
        # The fingerprint only names the library's cache file inside our scratch folder.
        dataset = Dataset.from_generator(
            rows, features=stream.features, cache_dir=str(scratch / "stream"), fingerprint=f"{scratch.name}-stream"
        )
    except Exception as exc:
        # The library wraps what the generator raised; a cancel must stay a cancel.
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, JobCancelled):
                raise cause from None
            cause = cause.__cause__ or cause.__context__
        raise
    progress.finish()
    return dataset


class _LibraryErrors(logging.Handler):
    """Collects what the datasets library logs while reading: only its log names the bad file."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def __enter__(self) -> _LibraryErrors:
        logging.getLogger("datasets").addHandler(self)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        logging.getLogger("datasets").removeHandler(self)


def _read_error(exc: BaseException, files: DataFiles, logged: list[str]) -> str:
    """A reading failure in plain words, naming the file (and line) when the library says which."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = " | ".join([f"{type(e).__name__}: {e}" for e in chain] + logged)
    all_files = [p for paths in files.splits.values() for p in paths]
    named = [p for p in all_files if f"'{p}'" in text or str(p) in text]
    where = named[0] if named else (all_files[0] if len(all_files) == 1 else None)
    # The first cause below the library's generic wrapper says what is wrong.
    causes = [e for e in chain if type(e).__name__ != "DatasetGenerationError" and str(e)] or chain
    reason = f"{type(causes[0]).__name__}: {causes[0]}".strip()
    if files.builder == "json":
        # Arrow counts rows within a block; find the file's own line and column instead.
        for candidate in [where] if where else all_files:
            located = _locate_json_error(candidate)
            if located:
                where, reason = candidate, f"{located} ({reason})"
                break
    head = f"cannot read {files.loader} file {where}" if where else f"cannot read the {files.loader} files"
    if not named and len(all_files) > 1:
        head += " (" + ", ".join(p.name for p in all_files) + ")"
    return f"{head}: {reason}"


def _locate_json_error(path: Path) -> str | None:
    """``line L, column C: message`` for the first malformed spot of a JSON or JSON Lines file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return str(exc)
    if text.lstrip().startswith(("[", "{")) and path.suffix != ".jsonl":
        try:
            json.loads(text)
            return None
        except json.JSONDecodeError as exc:
            if not text.lstrip().startswith("{"):
                return f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            json.loads(line)
        except json.JSONDecodeError as exc:
            return f"line {number}, column {exc.colno}: {exc.msg}"
    return None
