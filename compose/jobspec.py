"""The hand-off between the job graph and whatever executes one job.

The engine resolves a job's bindings and writes a :class:`JobSpec`; an executor runs
it (``runner.launch.SubprocessExecutor`` starts ``python -m runner --spec job.json``;
tests may run it in-process) and returns the job's output. A spec is plain JSON so
a worker on another machine, sharing only the database, queue and storage folder,
can run it.

Data sets travel between jobs as *dataset references*: the summary dict a datasets
job outputs, with ``"type": "dataset"``. Its ``path`` is relative to the storage
folder, so the reference means the same thing on every machine that mounts it.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeGuard

from compose.events import Event

DATASET_REF_TYPE = "dataset"
MODEL_REF_TYPE = "model"
# In a job's environment, "1" lets a datasets job run with trust_remote_code: true.
REMOTE_CODE_ENV = "COMPOSE_ALLOW_REMOTE_CODE"
# A data_files entry with one of these is a pattern (matched by the job), not a file name.
DATA_FILES_GLOB = re.compile(r"[*?\[]")


@dataclass
class JobSpec:
    run_id: str
    job_id: str
    component_id: str
    component_type: str  # "datasets" | "model-trainer"
    method: str  # datasets: load | concat | select | filter | map;  model-trainer: train
    # The component's fields after bindings are resolved, job input merged and
    # defaults applied, in the canonical (seed) field names of compose.schema.
    config: dict[str, Any]
    base_dir: str  # relative paths in config resolve against this folder
    storage_dir: str  # materialized data sets live under storage_dir/datasets/
    # Values (tokens, secrets) that must never appear in a log line or event.
    secrets: list[str] = field(default_factory=list)
    # Extra environment for the job process (e.g. HF_TOKEN); never logged.
    env: dict[str, str] = field(default_factory=dict)
    # Config fields whose value came from ${env.*}: masked whole wherever the config is shown.
    env_fields: list[str] = field(default_factory=list)
    # Folders every file the job reads or writes must really lie in (symlinks followed);
    # empty: no confinement (``compose run``: the user owns the machine).
    roots: list[str] = field(default_factory=list)
    # Trainers: folders where ``resume_from_checkpoint: latest`` looks after the job's own
    # output_dir (the same job's folders in the runs this one continues, newest first).
    resume_dirs: list[str] = field(default_factory=list)
    # Trainers: start afresh in an output_dir holding an earlier run's checkpoints (they are
    # removed first) instead of refusing to.
    overwrite_output: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        return cls(**json.loads(text))

    def shown_config(self) -> dict[str, Any]:
        """The config as it may be shown and stored: fields read from the environment and
        secret values masked, data set references cut to what names them (their preview
        rows can be large)."""
        return {
            name: MASK if name in self.env_fields and value is not None else redact(_summarized(value), self.secrets)
            for name, value in self.config.items()
        }

    def write(self, path: Path) -> Path:
        path.write_text(self.to_json(), encoding="utf-8")
        path.chmod(0o600)  # it may hold a token
        return path

    @classmethod
    def read(cls, path: Path) -> JobSpec:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


class JobFailed(Exception):
    """A job ended without success; ``message`` says why in plain words."""

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class JobCancelled(Exception):
    """A job stopped because it was asked to (cancel, SIGTERM)."""


class JobExecutor(Protocol):
    def execute(self, spec: JobSpec, on_event: Callable[[Event], None], cancel: threading.Event) -> Any:
        """Run one job to the end; return its output value.

        Every event the job reports is passed to ``on_event`` as it arrives. Raises
        :class:`JobFailed` or :class:`JobCancelled`. Setting ``cancel`` stops the job
        (its whole process tree) within seconds.
        """
        ...


MASK = "***"
MIN_MASKED_LENGTH = 4
# A run of this many characters of a secret is masked wherever it shows up, so a part
# of a secret cut out by an expression (``"${env.KEY}"[1:]``) does not escape either.
FRAGMENT_LENGTH = 8


def maskable(secrets: Iterable[str]) -> list[str]:
    """The secrets worth masking, longest first (so a secret containing another goes whole).

    Values shorter than ``MIN_MASKED_LENGTH`` are left: they cannot be credentials, and
    masking them (an ``${env.EPOCHS}`` of ``3``) would garble every number in the logs.
    """
    return sorted({s for s in secrets if s and len(s) >= MIN_MASKED_LENGTH}, key=len, reverse=True)


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` with every maskable secret, and every run of ``FRAGMENT_LENGTH`` or more
    characters taken from one, replaced by ``***`` (recursively)."""
    kept = tuple(maskable(secrets))
    if not kept:
        return value
    return _redacted(value, kept, _fragment_finder(kept))


def _fragment_finder(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    """A pattern matching, at each position, any ``FRAGMENT_LENGTH`` characters of a secret."""
    grams = {secret[i : i + FRAGMENT_LENGTH] for secret in secrets for i in range(len(secret) - FRAGMENT_LENGTH + 1)}
    if not grams:
        return None
    return _compiled(tuple(sorted(grams)))


@functools.lru_cache(maxsize=64)
def _compiled(grams: tuple[str, ...]) -> re.Pattern[str]:
    # A lookahead finds overlapping occurrences, so a longer fragment is covered whole.
    return re.compile("(?=(" + "|".join(map(re.escape, grams)) + "))")


def _redacted(value: Any, secrets: tuple[str, ...], finder: re.Pattern[str] | None) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return _mask_fragments(value, finder) if finder is not None else value
    if isinstance(value, dict):
        return {k: _redacted(v, secrets, finder) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, secrets, finder) for v in value]
    return value


def _mask_fragments(text: str, finder: re.Pattern[str]) -> str:
    spans: list[list[int]] = []
    for match in finder.finditer(text):
        start, end = match.start(), match.start() + FRAGMENT_LENGTH
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(MASK)
        last = end
    out.append(text[last:])
    return "".join(out)


def _summarized(value: Any) -> Any:
    """``value`` with each data set reference cut to what names it."""
    if is_dataset_ref(value):
        return {key: value[key] for key in ("type", "fingerprint", "path", "num_rows", "sft_format") if key in value}
    if isinstance(value, dict):
        return {key: _summarized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_summarized(item) for item in value]
    return value


def is_dataset_ref(value: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict) and value.get("type") == DATASET_REF_TYPE and "path" in value
