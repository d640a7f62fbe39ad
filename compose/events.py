"""Event records: what a running job reports, one JSON object per line.

The runner prints these on stdout (flushed, one per line); the CLI renders them on
stderr; the web worker stores them in the database and pushes them to browsers.
Every record has ``type``, ``job`` (the job id) and ``ts`` (unix seconds). The other
keys depend on the type:

=========  ==================================================================
type       keys
=========  ==================================================================
log        level ("debug" | "info" | "warning" | "error"), message
progress   current, total (or None when unknown), unit ("rows" | "steps" |
           "files"), stage (what is being counted, e.g. "map"), eta_s (or None)
metric     step, epoch (or None), split ("train" | "eval"), values (name -> float)
status     status ("running" | "succeeded" | "failed" | "cancelled" | "skipped"),
           message; "skipped": the job never started (a job it needs failed, or
           the run was cancelled first)
artifact   kind ("checkpoint" | "model" | "adapter" | "dataset" | "tensorboard" |
           "config"), path, size_bytes (or None), step (or None)
output     value: the job's output (JSON), sent once, last, on success
config     values: the job's fields as it starts with them (bindings resolved,
           defaults filled in, secret values masked, data sets summarized);
           sent once by the engine before the job starts
=========  ==================================================================

Metric names are fixed so charts and tests agree: ``loss``, ``learning_rate``,
``grad_norm``, ``samples_per_second``, ``tokens_per_second``, ``epoch``, and for eval
``eval_loss``, ``perplexity``, ``accuracy``, ``f1``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Literal

EventType = Literal["log", "progress", "metric", "status", "artifact", "output", "config"]
EVENT_TYPES: tuple[str, ...] = ("log", "progress", "metric", "status", "artifact", "output", "config")

# Exit codes of ``python -m runner``.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# Stopped by SIGTERM/SIGINT after saving a checkpoint (128 + SIGTERM, as a shell reports it).
EXIT_CANCELLED = 143

Event = dict[str, Any]
EventSink = Callable[[Event], None]


class EventFormatError(ValueError):
    """A line of runner output that is not a valid event record."""


def make_event(type: EventType, job: str, **fields: Any) -> Event:
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}; expected one of {', '.join(EVENT_TYPES)}")
    return {"type": type, "job": job, "ts": round(time.time(), 3), **fields}


def log(job: str, message: str, level: str = "info") -> Event:
    return make_event("log", job, level=level, message=message)


def progress(
    job: str, current: int, total: int | None, *, unit: str = "steps", stage: str = "", eta_s: float | None = None
) -> Event:
    return make_event("progress", job, current=current, total=total, unit=unit, stage=stage, eta_s=eta_s)


def metric(job: str, step: int, values: dict[str, float], *, split: str = "train", epoch: float | None = None) -> Event:
    return make_event("metric", job, step=step, epoch=epoch, split=split, values=values)


def status(job: str, status: str, message: str = "") -> Event:
    return make_event("status", job, status=status, message=message)


def artifact(job: str, kind: str, path: str, *, size_bytes: int | None = None, step: int | None = None) -> Event:
    return make_event("artifact", job, kind=kind, path=path, size_bytes=size_bytes, step=step)


def output(job: str, value: Any) -> Event:
    return make_event("output", job, value=value)


def config(job: str, values: dict[str, Any]) -> Event:
    return make_event("config", job, values=values)


def dumps(event: Event) -> str:
    """One line of JSON; NaN/inf are written as null so every reader can parse it."""
    return json.dumps(_finite(event), ensure_ascii=False, separators=(",", ":"))


def parse_line(line: str) -> Event:
    try:
        event = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EventFormatError(f"not JSON: {line[:200]!r}") from exc
    if not isinstance(event, dict) or event.get("type") not in EVENT_TYPES or "job" not in event:
        raise EventFormatError(f"not an event record: {line[:200]!r}")
    return event


def read_events(lines: Iterable[str]) -> Iterator[Event]:
    """Parse runner stdout; stray non-event lines (a library printing) become log events."""
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        try:
            yield parse_line(line)
        except EventFormatError:
            yield log("", line, level="info")


class JsonLineWriter:
    """Writes events to a stream, flushing each line so readers see it at once.

    Safe to call from several threads (a warning can come from any): lines never interleave.
    """

    def __init__(self, stream: IO[str]):
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        line = dumps(event) + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
