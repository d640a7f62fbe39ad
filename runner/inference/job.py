"""One model job: load, answer one input or every row of a data set, report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from compose import events
from compose.jobspec import JobFailed, is_dataset_ref
from compose.schema.components import MODEL_INPUT_FIELD, ModelComponent
from runner.config import validated_config
from runner.dataset_prep.materialize import (
    dataset_dir,
    find_materialized,
    fingerprint,
    folder_size,
    load_reference,
    save,
)
from runner.dataset_prep.progress import RowProgress
from runner.dataset_prep.template import TemplateError, check_columns, parse_template
from runner.finetune.model import hf_token
from runner.inference import generate as gen
from runner.inference.loading import Loaded, adapter_name, load

# The columns a data set run adds; an input column of the same name is refused, not overwritten.
ANSWER_COLUMNS: dict[str, tuple[str, ...]] = {
    "text-generation": ("response",),
    "chat-completion": ("response",),
    "text-classification": ("predicted_label", "predicted_score"),
}


def parse_config(config: dict[str, Any]) -> ModelComponent:
    return validated_config(ModelComponent, config, "model config")


def run(ctx) -> Any:
    cfg = parse_config(ctx.spec.config)
    if cfg.dataset is not None and not (is_dataset_ref(cfg.dataset) and "fingerprint" in cfg.dataset):
        raise JobFailed(f"dataset is not a data set (the output of a datasets job): {str(cfg.dataset)[:80]}")
    rows = load_reference(cfg.dataset, ctx.spec.storage_dir) if cfg.dataset is not None else None
    render = _renderer(cfg, rows.column_names if rows is not None else None)
    if rows is not None:
        clash = [c for c in ANSWER_COLUMNS[cfg.task] if c in rows.column_names]
        if clash:
            raise JobFailed(
                f"the data set already has a column {clash[0]}, where the answers go: drop or "
                "rename it first (a select or map job)"
            )
    _quiet()
    loaded = load(cfg, ctx.resolve_path, hf_token(ctx.spec.env))
    shown = cfg.model if cfg.model is None or isinstance(cfg.model, str) else cfg.model.model_dump(exclude_none=True)
    names = [adapter_name(a, i) for i, a in enumerate(cfg.peft_adapters or [])]
    ctx.log(f"loaded {shown} on {loaded.device}" + (f" with adapters {', '.join(names)}" if names else ""))
    ctx.check_cancelled()
    if rows is None:
        answers = _answer(loaded, cfg, [render(None)])
        _note_truncated(ctx, cfg, answers.truncated)
        return _single(cfg, answers.values[0])
    return _over_rows(ctx, cfg, loaded, rows, render)


def _renderer(cfg: ModelComponent, columns: list[str] | None):
    """Row -> the task's input: the literal value for one input, ``{column}`` templates per row."""
    field = MODEL_INPUT_FIELD[cfg.task]
    value = getattr(cfg, field)
    if value is None:
        raise JobFailed(f"task {cfg.task} needs {field}:")
    if columns is None:
        return lambda row: value
    try:
        if field == "messages":
            parsed = [(m.get("role", "user"), parse_template(str(m["content"]))) for m in value]
            for _, template in parsed:
                check_columns(template, columns)
            return lambda row: [{"role": role, "content": _fill(t, row)} for role, t in parsed]
        template = parse_template(value)
        check_columns(template, columns)
    except TemplateError as exc:
        raise JobFailed(f"{field}: {exc}") from None
    return lambda row: _fill(template, row)


def _fill(template: Any, row: dict[str, Any]) -> str:
    return template.render({c: [row[c]] for c in template.columns}, 1)[0]


def _answer(loaded: Loaded, cfg: ModelComponent, inputs: list[Any]) -> gen.Answers:
    if cfg.task == "text-classification":
        return gen.classify(loaded, cfg, inputs)
    if cfg.task == "chat-completion":
        return gen.generate(loaded, cfg, gen.chat_prompts(loaded, inputs), chat=True)
    return gen.generate(loaded, cfg, inputs, chat=False)


def _single(cfg: ModelComponent, value: Any) -> dict[str, Any]:
    if cfg.task == "text-generation":
        return {"generated_text": value}
    if cfg.task == "chat-completion":
        if isinstance(value, list):
            return {"message": [{"role": "assistant", "content": v} for v in value]}
        return {"message": {"role": "assistant", "content": value}}
    return value


def _over_rows(ctx, cfg: ModelComponent, loaded: Loaded, rows: Any, render) -> dict[str, Any]:
    storage = ctx.spec.storage_dir
    key = {
        "method": "model",
        "config": {k: v for k, v in ctx.spec.config.items() if k != "dataset"},
        "inputs": [cfg.dataset["fingerprint"]],
        "models": _model_stamp(ctx.spec.config),
        # Sampled answers differ from run to run: never reuse them as if they were the same.
        "nonce": os.urandom(8).hex() if cfg.do_sample else None,
    }
    fp = fingerprint(key)
    ref = find_materialized(storage, fp)
    if ref is not None:
        ctx.log(f"reusing answers {fp} ({ref['num_rows']} rows)")
    else:
        progress = RowProgress(ctx, cfg.task, len(rows), interval_s=0.0)
        answers: list[Any] = []
        truncated = 0
        for start in range(0, len(rows), cfg.batch_size):
            batch = rows.select(range(start, min(start + cfg.batch_size, len(rows))))
            done = _answer(loaded, cfg, [render(row) for row in batch])
            answers.extend(done.values)
            truncated += done.truncated
            progress.advance(len(batch))
        progress.finish()
        _note_truncated(ctx, cfg, truncated)
        ctx.check_cancelled()
        if cfg.task == "text-classification":
            out = rows.add_column("predicted_label", [a["label"] for a in answers])
            out = out.add_column("predicted_score", [a["score"] for a in answers])
        else:
            out = rows.add_column("response", answers)
        ref = save(out, storage, fp)
        ctx.log(f"answered {len(out)} rows into data set {fp}")
    folder = dataset_dir(storage, fp)
    size = folder_size(folder)
    if ctx.is_main:
        ctx.emit(events.artifact(ctx.job, "dataset", str(folder), size_bytes=size))
    return {**ref, "size_bytes": size}


def _note_truncated(ctx, cfg: ModelComponent, count: int) -> None:
    if count:
        ctx.log(
            f"{count} input(s) were longer than max_seq_length ({cfg.max_seq_length} tokens) and were cut "
            "to their last max_seq_length tokens",
            "warning",
        )


def _model_stamp(config: dict[str, Any]) -> list[Any]:
    """Size and time of every file in the model and adapter folders: answers saved for a
    folder trained again since are not reused."""
    found: list[list[tuple[str, int, int]] | str] = []
    values = [config.get("model"), *[a.get("model") for a in config.get("peft_adapters") or []]]
    for value in values:
        path = value.get("path") or value.get("repository") if isinstance(value, dict) else value
        folder = Path(str(path))
        if folder.is_dir():
            found.append(
                sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file())
            )
        else:
            found.append(str(path))
    return found


def _quiet() -> None:
    import datasets
    from transformers.utils import logging as hf_logging

    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
