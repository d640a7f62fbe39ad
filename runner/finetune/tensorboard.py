"""TensorBoard event files for a training run, written by torch's ``SummaryWriter``.

The layout and tags are those of transformers' own TensorBoard integration:
``<log_root>/<date>_<host>/events.out.tfevents.*`` with ``train/``, ``eval/`` and ``test/``
scalars, and the trainer's arguments and the model config as text. The runner keeps its own
callback around the library writer for two reasons: every text passes through ``redact``
first (the arguments can hold a value the compose file read from the environment), and
each run (or resumed run) gets a folder of its own under ``log_root`` wherever the trainer
logs from, instead of a default folder under the working directory.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from transformers import TrainerCallback


def run_folder_name(now: datetime | None = None) -> str:
    """``<date>_<host>``, the folder name transformers gives each run under ``runs/``."""
    return f"{(now or datetime.now()).strftime('%b%d_%H-%M-%S')}_{socket.gethostname()}"


def tag_logs(logs: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """Trainer log entries as TensorBoard tags: ``eval_loss`` -> ``eval/loss``, ``loss`` -> ``train/loss``.

    Numbers become scalars, strings text; anything else is left out.
    """
    scalars: dict[str, float] = {}
    texts: dict[str, str] = {}
    for key, value in logs.items():
        for prefix in ("eval", "test"):
            if key.startswith(prefix + "_"):
                tag = f"{prefix}/{key[len(prefix) + 1 :]}"
                break
        else:
            tag = f"train/{key}"
        if isinstance(value, (int, float)):
            scalars[tag] = float(value)
        elif isinstance(value, str):
            texts[tag] = value
    return scalars, texts


class TensorBoardCallback(TrainerCallback):
    """Writes the trainer's logs, its arguments and the model config as TensorBoard events.

    Only the main process writes. Each write is flushed at once (the library's writer
    otherwise holds events in a queue for up to two minutes), so a job killed mid-run
    leaves everything it logged on disk. The writer stays open after training: the
    evaluation the job runs after ``train()`` belongs in the same file.
    """

    def __init__(self, log_root: Path, redact: Callable[[str], str] = lambda text: text) -> None:
        self.log_root = Path(log_root)
        self.redact = redact
        self.writer: Any = None  # torch.utils.tensorboard.SummaryWriter, made on first use

    def _writer(self, state: Any) -> Any:
        if self.writer is None and state.is_world_process_zero:
            # Imported here: the library's writer is only needed by the process that writes.
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(self.log_root / run_folder_name()))
        return self.writer

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        writer = self._writer(state)
        if writer is None:
            return
        writer.add_text("args", self.redact(args.to_json_string()))
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_json_string"):
            writer.add_text("model_config", self.redact(config.to_json_string()))
        writer.flush()

    def on_log(self, args, state, control, logs=None, **kwargs):
        writer = self._writer(state)
        if writer is None or not logs:
            return
        scalars, texts = tag_logs(logs)
        for tag, value in scalars.items():
            writer.add_scalar(tag, value, state.global_step)
        for tag, text in texts.items():
            writer.add_text(tag, self.redact(text), state.global_step)
        writer.flush()
