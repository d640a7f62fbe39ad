"""The ``datasets`` component: load, concat, select, filter and map, materialized by fingerprint.

``run_dataset_job(ctx)`` runs one job and returns its dataset reference;
``load_reference(ref, storage_dir)`` opens a reference as a ``datasets.Dataset``.
Both import their modules when called: a training job that only opens references
does not load the operations, their expression parser or the hub loader.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.context import RunContext


def run_dataset_job(ctx: RunContext) -> dict[str, Any]:
    from runner.dataset_prep.job import run_dataset_job as run

    return run(ctx)


def load_reference(ref: dict[str, Any], storage_dir: str | os.PathLike[str]):
    from runner.dataset_prep.materialize import load_reference as load

    return load(ref, storage_dir)


__all__ = ["run_dataset_job", "load_reference"]
