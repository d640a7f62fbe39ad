"""The ``model-trainer`` job: SFT (TRL) and sequence classification (transformers).

ML libraries are imported when a job runs, not when this package is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.context import RunContext


def run_training_job(ctx: RunContext) -> dict[str, Any]:
    """Train as ``ctx.spec.config`` says; return the model reference (docs/architecture.md)."""
    from runner.finetune.job import train

    return train(ctx)


__all__ = ["run_training_job"]
