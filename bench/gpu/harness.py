"""Run one side of a benchmark (our runner, or plain TRL) in a fresh process and measure it.

Each side runs alone in its own Python process, so its peak resident memory
(``ru_maxrss``) and peak GPU memory (``torch.cuda.max_memory_allocated``) are its own.

    python -m bench.gpu.harness ours|plain settings.json    # prints one JSON line
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.gpu.settings import BenchSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def trainer_config(s: BenchSettings) -> dict[str, Any]:
    """The model-trainer component that asks our runner for what plain_sft.py does."""
    config: dict[str, Any] = {
        "id": "bench",
        "type": "model-trainer",
        "task": "sft",
        "model": s.model,
        "dataset": dataset_reference(s),
        "prompt_column": "prompt",
        "response_column": "response",
        "max_seq_length": s.max_length,
        "packing": s.packing,
        "learning_rate": s.learning_rate,
        "per_device_train_batch_size": s.batch_size,
        "gradient_accumulation_steps": s.grad_accum,
        "num_epochs": 1,
        "lr_scheduler_type": "linear",
        "warmup_steps": 0,
        "optimizer": s.optimizer,
        "bf16": s.bf16,
        "gradient_checkpointing": s.gradient_checkpointing,
        "logging_steps": s.logging_steps,
        "save_steps": None,
        "seed": s.seed,
        "output_dir": s.output_dir,
    }
    if s.lora_r:
        config.update(
            peft_adapter="lora",
            lora_r=s.lora_r,
            lora_alpha=2 * s.lora_r,
            lora_dropout=0.05,
            lora_target_modules=list(s.lora_target_modules),
        )
    if s.quantization:
        config.update(
            quantization=s.quantization,
            bnb_4bit_compute_dtype="bfloat16" if s.bf16 else "float32",
            bnb_4bit_use_double_quant=True,
        )
    if s.gpus >= 2:
        config["resources"] = {"gpus": s.gpus}
    return config


def dataset_reference(s: BenchSettings) -> dict[str, Any]:
    return {
        "type": "dataset",
        "fingerprint": "bench",
        "path": s.data_path,
        "columns": {"prompt": "string", "response": "string"},
        "sft_format": "prompt-response",
    }


def job_spec(s: BenchSettings):
    from compose.jobspec import JobSpec

    return JobSpec(
        run_id="bench",
        job_id="train",
        component_id="bench",
        component_type="model-trainer",
        method="train",
        config=trainer_config(s),
        base_dir=str(PROJECT_ROOT),
        storage_dir=s.storage_dir,
    )


def current_rss_bytes() -> int | None:
    """This process's resident memory now (Linux), or None where /proc is missing."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:
        return None


class StepClock:
    """Train-loop time from the runner's progress events: train begin to the last step."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.rss_at_start: int | None = None  # resident memory when training begins
        self.ended: float | None = None
        self.steps = 0
        self.tokens_per_second: list[float] = []
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        now = time.monotonic()
        if event["type"] == "progress" and event.get("stage") == "train":
            if self.started is None:
                self.started = now
                self.rss_at_start = current_rss_bytes()
            else:
                self.ended = now
                self.steps = int(event["current"])
        elif event["type"] == "metric" and event.get("split") == "train":
            value = event["values"].get("tokens_per_second")
            if value:
                self.tokens_per_second.append(float(value))

    @property
    def train_s(self) -> float | None:
        return None if self.started is None or self.ended is None else self.ended - self.started


def run_ours(s: BenchSettings) -> dict[str, Any]:
    """Our runner on ``s``: in this process, or through torchrun when it asks for several GPUs."""
    clock = StepClock()
    spec = job_spec(s)
    if s.gpus >= 2:
        from runner.launch import SubprocessExecutor

        output = SubprocessExecutor(grace_s=5).execute(spec, clock, threading.Event())
    else:
        from runner.main import run_job

        output = run_job(spec, clock)
    reported = clock.tokens_per_second
    # Under torchrun the training runs in child processes: this process's memory says nothing.
    rss_at_start = clock.rss_at_start if s.gpus < 2 else None
    return {
        "train_s": clock.train_s,
        "steps": clock.steps,
        "rss_at_train_start_bytes": rss_at_start,
        "loss": (output.get("metrics") or {}).get("train_loss"),
        "reported_tokens_per_second": sum(reported) / len(reported) if reported else None,
    }


def run_side(side: str, s: BenchSettings) -> dict[str, Any]:
    if side == "ours":
        result = run_ours(s)
    elif side == "plain":
        from bench.gpu.plain_sft import train

        result = train(s)
    else:
        raise ValueError(f"unknown side {side!r}: ours or plain")
    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # A torchrun run's workers are children of this process.
    result["peak_rss_children_bytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    result["peak_gpu_bytes"] = _peak_gpu_bytes()
    return result


def _peak_gpu_bytes() -> int | None:
    if "torch" not in sys.modules:
        return None
    import torch

    return int(torch.cuda.max_memory_allocated()) if torch.cuda.is_available() else None


def in_fresh_process(
    side: str, settings: BenchSettings, settings_path: Path, timeout_s: float | None = None
) -> dict[str, Any]:
    """Run one side in a new Python process; its result dict (with ``wall_s``), or ``error``."""
    settings.write(settings_path)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.gpu.harness", side, str(settings_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    wall_s = time.monotonic() - started
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit code {proc.returncode}", "stderr_tail": proc.stderr[-3000:], "wall_s": wall_s}
    result = json.loads(lines[-1])
    result["wall_s"] = wall_s
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    side, path = argv
    # Events and library output stay off stdout, which carries the one result line.
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    result = run_side(side, BenchSettings.read(path))
    real_stdout.write(json.dumps(result) + "\n")
    real_stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
