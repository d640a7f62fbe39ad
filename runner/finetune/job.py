"""One training job from start to finish: check, load, train, save, report."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from compose import events
from compose.jobenv import DEFAULT_MODEL_ENV
from compose.jobspec import JobCancelled, JobFailed
from compose.schema.components import TrainerComponent
from runner.config import validated_config
from runner.context import RunContext
from runner.finetune import args as trainer_args
from runner.finetune import data, optimizers, outputs
from runner.finetune import model as model_lib
from runner.finetune.errors import ConfigProblem


def parse_config(config: dict[str, Any]) -> TrainerComponent:
    return validated_config(TrainerComponent, config, "model-trainer config")


def preflight(cfg: TrainerComponent, hw: trainer_args.Hardware) -> None:
    """Everything that can be refused before a model or data set is loaded."""
    trainer_args.check_precision(cfg, hw)
    trainer_args.check_gpus(cfg, hw)
    optimizers.check_available(cfg.optimizer, cuda=hw.cuda)
    trainer_args.check_scheduler(cfg, has_eval=cfg.eval_dataset is not None)


def base_model_name(cfg: TrainerComponent) -> str:
    if cfg.model:
        return cfg.model
    from_env = os.environ.get(DEFAULT_MODEL_ENV[cfg.task])
    if from_env:
        return from_env
    raise ConfigProblem(
        "model", f"no base model: set model: (a local folder or hub id) or {DEFAULT_MODEL_ENV[cfg.task]}"
    )


def train(ctx: RunContext) -> dict[str, Any]:
    with ExitStack() as scope:
        return _train(ctx, scope)


def _train(ctx: RunContext, scope: ExitStack) -> dict[str, Any]:
    cfg = parse_config(ctx.spec.config)
    hw = trainer_args.Hardware.detect()
    preflight(cfg, hw)
    output_dir = ctx.resolve_path(cfg.output_dir).resolve()
    outputs.claim_output_dir(output_dir, cfg.resume_from_checkpoint, ctx.spec.overwrite_output, ctx.log)
    resume = outputs.resolve_resume(cfg.resume_from_checkpoint, output_dir, ctx.resolve_path, ctx.spec.resume_dirs)
    if cfg.resume_from_checkpoint == "latest" and resume is None:
        ctx.log(f"resume_from_checkpoint: latest found no checkpoint in {output_dir}; starting from step 0")
    # Before the heavy imports, so a hub id on a machine without network fails in seconds.
    source = model_lib.resolve_source(base_model_name(cfg), "model", ctx.resolve_path)
    if not source.local and source.local_files_only:
        ctx.log("the Hugging Face Hub is not reachable: using the local cache only (HF_HUB_OFFLINE=1)", "warning")

    import gc

    from transformers import set_seed

    # The ML imports leave millions of long-lived objects; freezing them keeps the full
    # collections the trainer runs (e.g. when it frees memory) from walking them again.
    gc.freeze()
    set_seed(cfg.seed)  # before the model loads: LoRA and new heads start from the same weights
    ctx.check_cancelled()
    scope.enter_context(data.transforms_in_scratch())
    train_rows = data.load_dataset_value(cfg.dataset, ctx.spec.storage_dir, "dataset")
    eval_rows = (
        data.load_dataset_value(cfg.eval_dataset, ctx.spec.storage_dir, "eval_dataset")
        if cfg.eval_dataset is not None
        else None
    )
    if cfg.eval_steps and eval_rows is None:
        ctx.log("eval_steps is set but there is no eval_dataset: nothing will be evaluated", "warning")

    token = model_lib.hf_token(ctx.spec.env)
    ctx.check_cancelled()
    tokenizer = model_lib.load_tokenizer(cfg, source, ctx.resolve_path, token)

    from runner.finetune.callbacks import EventCallback, TokenCounter
    from runner.finetune.tensorboard import TensorBoardCallback
    from runner.finetune.trainers import Inputs, build_classification, build_sft

    counter = TokenCounter()
    callback = EventCallback(
        ctx.job,
        ctx.emit,
        is_main=ctx.is_main,
        counter=counter,
        world_size=ctx.world_size,
        cancelled=ctx.cancelled,
        task=cfg.task,
    )
    inputs = Inputs(
        cfg=cfg,
        source=source,
        tokenizer=tokenizer,
        train=train_rows,
        eval=eval_rows,
        output_dir=str(output_dir),
        hw=hw,
        token=token,
        callbacks=[callback, TensorBoardCallback(outputs.tensorboard_dir(output_dir), ctx.redact)],
    )
    prepared = (build_sft if cfg.task == "sft" else build_classification)(inputs)
    trainer = prepared.trainer
    trainer.token_counter = counter
    _quiet(trainer)
    trainer_args.finish_scheduler_kwargs(trainer, cfg)
    for note in prepared.notes:
        ctx.log(note)
    trainable, total = model_lib.count_parameters(trainer.model)
    ctx.log(
        f"training {trainable:,} of {total:,} parameters on {len(trainer.train_dataset):,} rows"
        + (f", resuming from {resume}" if resume else "")
    )
    if resume and ctx.is_main:  # the job card (and the admin) say where this attempt began
        ctx.emit(events.status(ctx.job, "running", f"resumed from {resume.name}"))
    ctx.check_cancelled()

    try:
        result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    except (JobCancelled, JobFailed):
        raise
    except Exception as exc:
        raise JobFailed(f"{type(exc).__name__}: {exc} ({_saved(callback.checkpoints, resume)})") from exc
    if ctx.cancelled.is_set():
        raise JobCancelled(
            f"job {ctx.job} cancelled at step {trainer.state.global_step}; {_saved(callback.checkpoints, resume)}"
        )

    if eval_rows is not None and not _evaluated_at(trainer.state, trainer.state.global_step):
        trainer.evaluate()
    trainer.save_model(str(output_dir))
    metrics = {
        "train_loss": callback.train_loss if callback.train_loss is not None else result.training_loss,
        **callback.last_eval,
    }
    if ctx.is_main:
        tokenizer.save_pretrained(str(output_dir))
        run_files = outputs.write_run_files(output_dir, cfg.model_dump(mode="json"), ctx.redact, labels=prepared.labels)
        _report_artifacts(ctx, output_dir, prepared.adapter, trainer.state.global_step, run_files)
    return outputs.model_reference(
        output_dir,
        global_step=trainer.state.global_step,
        adapter=prepared.adapter,
        metrics=metrics,
        checkpoint_paths=outputs.checkpoints(output_dir),
        labels=prepared.labels,
    )


def _saved(checkpoints: list[str], resumed_from: Path | None) -> str:
    """Which checkpoint this job itself saved: never another run's, never a guess."""
    if checkpoints:
        return f"checkpoint saved in {checkpoints[-1]}"
    if resumed_from is not None:
        return f"no new checkpoint since {resumed_from}"
    return "no checkpoint was saved"


def _evaluated_at(state: Any, step: int) -> bool:
    return any("eval_loss" in entry and entry.get("step") == step for entry in state.log_history)


def _quiet(trainer: Any) -> None:
    """Our callback reports progress and metrics; the console printers would repeat them."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)


def _report_artifacts(ctx: RunContext, output_dir: Path, adapter: bool, step: int, run_files: list[Path]) -> None:
    from runner.finetune.callbacks import folder_size

    model_bytes = sum(p.stat().st_size for p in output_dir.iterdir() if p.is_file())
    ctx.emit(
        events.artifact(ctx.job, "adapter" if adapter else "model", str(output_dir), size_bytes=model_bytes, step=step)
    )
    for path in run_files:
        ctx.emit(events.artifact(ctx.job, "config", str(path), size_bytes=path.stat().st_size, step=step))
    runs = outputs.tensorboard_dir(output_dir)
    if runs.is_dir():
        ctx.emit(events.artifact(ctx.job, "tensorboard", str(runs), size_bytes=folder_size(runs), step=step))
