"""``type: model`` jobs: load a local model (and LoRA adapters), answer one input or every row."""

from __future__ import annotations

from typing import Any


def run_model_job(ctx) -> Any:
    from runner.inference.job import run

    return run(ctx)
