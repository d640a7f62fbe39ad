"""The training benchmarks compare like with like: the runner side asks for what the
plain TRL script writes out by hand, and both end up with the same training settings."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bench.gpu import harness
from bench.gpu.plain_sft import sft_config as plain_sft_config
from bench.gpu.settings import BenchSettings

CPU_LORA = BenchSettings(
    model="model",
    data_dir="data",
    storage_dir="storage",
    data_path="datasets/bench",
    output_dir="out",
    lora_r=8,
    learning_rate=2e-4,
)
# What bench_gpu_sft.py's full fine-tune asks for (on the CPU here).
GPU_FULL = replace(
    CPU_LORA,
    lora_r=0,
    bf16=True,
    packing=True,
    optimizer="adamw_torch_fused",
    batch_size=8,
    max_length=2048,
    learning_rate=1e-5,
    logging_steps=10,
    seed=0,
)
CHECKPOINTING = replace(CPU_LORA, gradient_checkpointing=True, grad_accum=2)


def runner_sft_config(s: BenchSettings):
    """The SFTConfig the runner builds from the harness's model-trainer component."""
    from runner.finetune import args as trainer_args
    from runner.finetune.job import parse_config

    cfg = parse_config(harness.trainer_config(s))
    return trainer_args.sft_config(
        cfg,
        text_field="text",
        prompt_completion=cfg.effective_text_column is None,
        output_dir=s.output_dir,
        has_eval=False,
        hw=trainer_args.Hardware(cuda=False, bf16_supported=True),
        target_modules=None,
    )


def differences(ours: dict[str, Any], plain: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        key: (ours.get(key), plain.get(key))
        for key in sorted(set(ours) | set(plain))
        if ours.get(key) != plain.get(key)
    }


@pytest.mark.parametrize("settings", [CPU_LORA, GPU_FULL, CHECKPOINTING], ids=["cpu-lora", "gpu-full", "checkpointing"])
def test_both_sides_train_with_the_same_settings(settings: BenchSettings) -> None:
    found = differences(runner_sft_config(settings).to_dict(), plain_sft_config(settings, cuda=False).to_dict())
    # No scheduler kwargs reads the same as empty ones.
    scheduler_kwargs = found.pop("lr_scheduler_kwargs", ({}, None))
    assert not any(scheduler_kwargs)
    assert found == {}
