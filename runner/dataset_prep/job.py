"""``run_dataset_job``: validate a datasets job, run its operation, materialize the result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from compose import events
from compose.jobspec import JobFailed, is_dataset_ref
from compose.schema.components import DATASET_METHODS, DatasetsLoad, datasets_operation
from runner.config import validated_config
from runner.dataset_prep import loading, ops
from runner.dataset_prep.materialize import (
    dataset_dir,
    find_materialized,
    fingerprint,
    folder_size,
    load_reference,
    save,
    scratch_dir,
)

Build = Callable[[Path], Any]  # scratch folder -> datasets.Dataset


def run_dataset_job(ctx) -> dict[str, Any]:
    """Run ``ctx.spec`` (a datasets job) and return its dataset reference."""
    method = ctx.spec.method or ctx.spec.config.get("method") or "load"
    if method not in DATASET_METHODS:
        raise JobFailed(f"unknown datasets method {method!r}; use one of {', '.join(DATASET_METHODS)}")
    cfg = validated_config(datasets_operation(method), {**ctx.spec.config, "method": method}, "datasets job")
    if isinstance(cfg, DatasetsLoad) and cfg.token and cfg.token not in ctx.spec.secrets:
        ctx.spec.secrets.append(cfg.token)  # so every message run_job reports is redacted too
    _quiet_library()

    key, build = _plan(ctx, cfg, method)
    fp = fingerprint(key)
    storage = ctx.spec.storage_dir
    ref = find_materialized(storage, fp)
    if ref is not None:
        ctx.log(f"reusing materialized data set {fp} ({ref['num_rows']} rows)")
    else:
        with scratch_dir(storage, fp) as scratch:
            dataset = build(scratch)
            ctx.check_cancelled()
            ref = save(dataset, storage, fp)
        ctx.log(
            f"materialized data set {fp}: {ref['num_rows']} rows, columns "
            f"{', '.join(f'{k} ({v})' for k, v in ref['columns'].items())}"
        )
    folder = dataset_dir(storage, fp)
    # Measured here, not in the summary: the summary is written inside the folder before it is
    # complete, and a reused data set reports its size like a fresh one.
    size = folder_size(folder)
    if ctx.is_main:
        ctx.emit(events.artifact(ctx.job, "dataset", str(folder), size_bytes=size))
    return {**ref, "size_bytes": size}


def _quiet_library() -> None:
    # Progress bars on stderr would become log lines; we report progress events instead.
    import datasets

    datasets.disable_progress_bars()


def _plan(ctx, cfg: Any, method: str) -> tuple[dict[str, Any], Build]:
    """What identifies the result (hashed into its fingerprint), and how to build it.

    ``cfg`` is the operation's model (:data:`DATASETS_OPERATIONS`); ``method`` names it.
    """
    if method == "load":
        sampling = {
            "split": cfg.split,
            "name": cfg.name,
            "fraction": cfg.fraction,
            "shuffle": cfg.shuffle,
            "seed": cfg.seed if cfg.shuffle else None,
            "streaming": cfg.streaming and cfg.shuffle,
        }
        if loading.is_local_load(cfg, ctx):
            files = loading.local_files(cfg, ctx)
            return (
                {"method": "load", "files": files.content_key(), **sampling},
                lambda scratch: loading.load_local(ctx, cfg, files, scratch),
            )
        return (
            {
                "method": "load",
                "hub": cfg.path,
                "revision": cfg.revision,
                "data_files": cfg.data_files,
                "data_dir": cfg.data_dir,
                **sampling,
            },
            lambda scratch: loading.load_hub(ctx, cfg, scratch),
        )

    storage = ctx.spec.storage_dir
    if method == "concat":
        refs = _refs(cfg.datasets, "datasets")
        params = {"direction": cfg.direction}
        return (
            _op_key(method, params, refs),
            lambda scratch: ops.concat([load_reference(r, storage) for r in refs], cfg.direction),
        )
    ref = _ref(cfg.dataset, "dataset")
    if method == "select":
        if cfg.axis == "columns":
            params = {"axis": "columns", "columns": cfg.columns}
            return (
                _op_key(method, params, [ref]),
                lambda scratch: ops.select_columns(load_reference(ref, storage), cfg.columns),
            )
        params = {"axis": "rows", "indices": cfg.indices}
        return (
            _op_key(method, params, [ref]),
            lambda scratch: ops.select_rows(load_reference(ref, storage), cfg.indices),
        )
    if method == "filter":
        where = cfg.where.model_dump(by_alias=True, exclude_none=True) if cfg.where else None
        if ref.get("columns"):
            # Compile against the reference's columns now: a bad condition fails before any loading.
            ops.compile_filter(cfg.condition, where, list(ref["columns"]))

        def run_filter(scratch: Path):
            dataset = load_reference(ref, storage)
            condition = ops.compile_filter(cfg.condition, where, dataset.column_names)
            return ops.filter_rows(ctx, dataset, condition)

        return _op_key(method, {"condition": cfg.condition, "where": where}, [ref]), run_filter
    params = {"template": cfg.template, "output_column": cfg.output_column, "remove_columns": cfg.remove_columns}
    return (
        _op_key(method, params, [ref]),
        lambda scratch: ops.map_template(
            ctx, load_reference(ref, storage), cfg.template, cfg.output_column, cfg.remove_columns, scratch
        ),
    )


def _op_key(method: str, params: dict[str, Any], refs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"method": method, "params": params, "inputs": [r["fingerprint"] for r in refs]}


def _ref(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        raise JobFailed(
            f"this operation needs {field}: a data set from an earlier job, e.g. {field}: ${{jobs.load.output}}"
        )
    if not is_dataset_ref(value) or "fingerprint" not in value:
        raise JobFailed(f"{field} is not a data set (the output of a datasets job): {str(value)[:80]}")
    return value


def _refs(values: Any, field: str) -> list[dict[str, Any]]:
    if not values:
        raise JobFailed(f"concat needs {field}: a list of data sets from earlier jobs")
    return [_ref(v, f"{field}[{i}]") for i, v in enumerate(values)]
