"""Trainer callbacks that turn training into events: metrics, progress, artifacts, cancel."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from compose import events

# Trainer log keys -> our metric names (compose.events).
TRAIN_KEYS = {"loss": "loss", "learning_rate": "learning_rate", "grad_norm": "grad_norm"}
EVAL_KEYS = {"eval_loss": "eval_loss", "eval_accuracy": "accuracy", "eval_f1": "f1"}
PROGRESS_INTERVAL_S = 1.0


class TokenCounter:
    """Non-padding tokens and rows seen by training steps (not evaluation) on this process."""

    def __init__(self) -> None:
        self.tokens = 0
        self.samples = 0

    def add(self, inputs: dict[str, Any]) -> None:
        ids = inputs.get("input_ids")
        if ids is None:
            return
        mask = inputs.get("attention_mask")
        # Padding-free (packed) batches have no mask: every token is real.
        self.tokens += int(mask.sum()) if mask is not None else int(ids.numel())
        position_ids = inputs.get("position_ids")
        if mask is None and position_ids is not None:
            self.samples += int((position_ids == 0).sum())  # one packed sequence starts at each 0
        else:
            self.samples += int(ids.shape[0])


class GradNormMeter:
    """The gradient norm of a step under LOMO, measured as each gradient is computed.

    LOMO updates every weight inside the backward pass and frees its gradient at once,
    so the trainer's own norm (taken after the backward pass) finds no gradients and
    reports 0. A hook on each trainable parameter adds up the squares on the way; with
    gradient accumulation the norm is that of the step's last micro-batch, the gradient
    LOMO applied last.
    """

    def __init__(self, model: Any) -> None:
        self._squares: Any = 0.0
        self._handles = [p.register_hook(self._add) for p in model.parameters() if p.requires_grad]

    def _add(self, grad: Any) -> None:
        self._squares = self._squares + grad.detach().float().pow(2).sum()

    def reset(self) -> None:
        self._squares = 0.0

    @property
    def norm(self) -> float:
        return math.sqrt(float(self._squares))


def counting_trainer(base: type) -> type:
    """A subclass of ``base`` whose training steps feed a :class:`TokenCounter` (and a
    :class:`GradNormMeter`, when one is set, whose norm replaces the logged ``grad_norm``)."""

    class Counting(base):
        token_counter: TokenCounter
        grad_meter: GradNormMeter | None = None

        def training_step(self, model, inputs, *args, **kwargs):
            counter = getattr(self, "token_counter", None)
            if counter is not None:
                counter.add(inputs)
            if self.grad_meter is not None:
                self.grad_meter.reset()
            return super().training_step(model, inputs, *args, **kwargs)

        def log(self, logs, *args, **kwargs):
            if self.grad_meter is not None and "grad_norm" in logs:
                logs = {**logs, "grad_norm": self.grad_meter.norm}
            return super().log(logs, *args, **kwargs)

    Counting.__name__ = f"Counting{base.__name__}"
    return Counting


class EventCallback(TrainerCallback):
    """Reports metrics, progress and checkpoints as events; stops on cancel after a save."""

    def __init__(
        self,
        job: str,
        emit: Callable[[events.Event], None],
        *,
        is_main: bool,
        counter: TokenCounter,
        world_size: int,
        cancelled: Any,
        task: str,
    ) -> None:
        self.job = job
        self.emit = emit if is_main else (lambda event: None)
        self.counter = counter
        self.world_size = world_size
        self.cancelled = cancelled
        self.task = task
        self.last_eval: dict[str, float] = {}
        self.train_loss: float | None = None
        self.checkpoints: list[str] = []
        self.stopped_for_cancel = False
        self._started = 0.0
        self._start_step = 0
        self._window = (0.0, 0, 0)  # time, tokens, samples at the previous log
        self._last_progress = 0.0

    # -- lifecycle --------------------------------------------------------------
    def on_train_begin(self, args, state, control, **kwargs):
        now = time.monotonic()
        self._started = now
        self._start_step = state.global_step
        self._window = (now, self.counter.tokens, self.counter.samples)
        self.emit(events.progress(self.job, state.global_step, state.max_steps or None, unit="steps", stage="train"))

    def on_step_end(self, args, state, control, **kwargs):
        if not self.stopped_for_cancel and _any_process(self.cancelled.is_set(), args.device):
            self.stopped_for_cancel = True
            control.should_save = True
            control.should_training_stop = True
        last = state.global_step >= state.max_steps
        if last or self.stopped_for_cancel:
            # A run shorter than logging_steps (or stopped early) still reports its final loss.
            control.should_log = True
        now = time.monotonic()
        if last or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            done = state.global_step - self._start_step
            eta = None
            if done > 0 and state.max_steps:
                eta = round((now - self._started) / done * (state.max_steps - state.global_step), 1)
            self.emit(
                events.progress(
                    self.job, state.global_step, state.max_steps or None, unit="steps", stage="train", eta_s=eta
                )
            )
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        epoch = logs.get("epoch", state.epoch)
        if any(key in logs for key in EVAL_KEYS):
            values = {name: float(logs[key]) for key, name in EVAL_KEYS.items() if key in logs}
            if self.task == "sft" and "eval_loss" in values:
                values["perplexity"] = _perplexity(values["eval_loss"])
            self.last_eval = values
            self.emit(events.metric(self.job, state.global_step, values, split="eval", epoch=epoch))
            return
        if "train_loss" in logs:
            self.train_loss = float(logs["train_loss"])
            return
        if "loss" not in logs:
            return
        values = {name: float(logs[key]) for key, name in TRAIN_KEYS.items() if key in logs}
        now = time.monotonic()
        then, tokens, samples = self._window
        elapsed = max(now - then, 1e-9)
        values["samples_per_second"] = (self.counter.samples - samples) * self.world_size / elapsed
        values["tokens_per_second"] = (self.counter.tokens - tokens) * self.world_size / elapsed
        if epoch is not None:
            values["epoch"] = float(epoch)
        self._window = (now, self.counter.tokens, self.counter.samples)
        self.emit(events.metric(self.job, state.global_step, values, split="train", epoch=epoch))

    def on_evaluate(self, args, state, control, **kwargs):
        # Evaluation time is not training throughput.
        self._window = (time.monotonic(), self.counter.tokens, self.counter.samples)

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            self.checkpoints.append(str(folder.resolve()))
            self.emit(
                events.artifact(
                    self.job,
                    "checkpoint",
                    str(folder.resolve()),
                    size_bytes=folder_size(folder),
                    step=state.global_step,
                )
            )
        # A checkpoint write is not training throughput either.
        self._window = (time.monotonic(), self.counter.tokens, self.counter.samples)


def _any_process(flag: bool, device: Any) -> bool:
    """``flag`` OR-ed over all processes, so every rank stops at the same step.

    A signal can reach the ranks of a multi-process job between two different steps;
    a rank that stopped alone would leave the others waiting in a collective forever.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    import torch

    value = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def _perplexity(loss: float) -> float:
    try:
        return math.exp(loss)
    except OverflowError:
        return float("inf")


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
