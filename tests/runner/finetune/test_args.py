"""Our fields land in SFTConfig / TrainingArguments as the seed describes them."""

from __future__ import annotations

import pytest

from compose.schema.components import TrainerComponent
from runner.finetune import args as trainer_args
from runner.finetune.errors import ConfigProblem

CPU = trainer_args.Hardware(cuda=False, bf16_supported=True)


def _cfg(**fields) -> TrainerComponent:
    return TrainerComponent(id="t", task="sft", dataset={"type": "dataset", "path": "d"}, **fields)


def test_every_training_field_is_mapped(tmp_path) -> None:
    cfg = _cfg(
        learning_rate="2e-4",
        per_device_train_batch_size=3,
        per_device_eval_batch_size=5,
        num_epochs=2,
        optimizer="schedule_free_radamw",
        optimizer_args={"warmup_steps": 2},
        lr_scheduler_type="cosine",
        lr_scheduler_kwargs={"num_cycles": 0.25},
        warmup_steps=7,
        weight_decay=0.01,
        max_grad_norm=0.5,
        gradient_accumulation_steps=4,
        eval_steps=11,
        save_steps=13,
        logging_steps=3,
        gradient_checkpointing=True,
        bf16=True,
        seed=9,
        text_column="text",
        max_seq_length=77,
        packing=True,
    )
    config = trainer_args.sft_config(
        cfg,
        text_field="text",
        prompt_completion=False,
        output_dir=str(tmp_path),
        has_eval=True,
        hw=CPU,
        target_modules=None,
    )
    assert config.learning_rate == 2e-4
    assert (config.per_device_train_batch_size, config.per_device_eval_batch_size) == (3, 5)
    assert config.num_train_epochs == 2 and config.max_steps == -1
    assert config.optim == "schedule_free_radam" and config.optim_args == "warmup_steps=2"
    assert config.lr_scheduler_type == "cosine" and config.lr_scheduler_kwargs == {"num_cycles": 0.25}
    assert config.warmup_steps == 7 and config.weight_decay == 0.01 and config.max_grad_norm == 0.5
    assert config.gradient_accumulation_steps == 4
    assert config.eval_strategy == "steps" and config.eval_steps == 11
    assert config.save_strategy == "steps" and config.save_steps == 13
    assert config.logging_steps == 3
    assert config.gradient_checkpointing is True
    assert config.bf16 is True and config.fp16 is False and config.use_cpu is True
    assert config.seed == 9 and config.data_seed == 9
    assert config.max_length == 77 and config.packing is True
    # TensorBoard files come from the runner's own callback, not transformers' integration.
    assert config.report_to == []


def test_trl_defaults_do_not_leak_in(tmp_path) -> None:
    # SFTConfig alone turns on bf16 and gradient checkpointing; the seed's defaults are off.
    config = trainer_args.sft_config(
        _cfg(text_column="text"),
        text_field="text",
        prompt_completion=False,
        output_dir=str(tmp_path),
        has_eval=False,
        hw=CPU,
        target_modules=None,
    )
    assert config.bf16 is False and config.fp16 is False
    assert config.gradient_checkpointing is False
    assert config.eval_strategy == "no"


def test_eval_without_eval_steps_runs_each_epoch_and_no_save_steps_saves_nothing(tmp_path) -> None:
    cfg = TrainerComponent(id="t", task="classification", save_steps=None, max_steps=20)
    config = trainer_args.training_arguments(cfg, output_dir=str(tmp_path), has_eval=True, hw=CPU, target_modules=None)
    assert config.eval_strategy == "epoch"
    assert config.save_strategy == "no"
    assert config.max_steps == 20


def test_galore_gets_target_modules(tmp_path) -> None:
    config = trainer_args.training_arguments(
        TrainerComponent(id="t", task="classification", optimizer="galore_adamw"),
        output_dir=str(tmp_path),
        has_eval=False,
        hw=CPU,
        target_modules=["query", "value"],
    )
    assert config.optim == "galore_adamw" and config.optim_target_modules == ["query", "value"]


def test_fp16_and_bf16_together_pick_what_the_device_supports() -> None:
    # The seed's memory section lists both as alternatives in one block.
    both = TrainerComponent(id="t", task="sft", fp16=True, bf16=True)
    assert trainer_args.precision(both, CPU) == (False, True)
    old_gpu = trainer_args.Hardware(cuda=True, bf16_supported=False)
    assert trainer_args.precision(both, old_gpu) == (True, False)
    trainer_args.check_precision(both, old_gpu)  # falls back to fp16, no error
    only_bf16 = TrainerComponent(id="t", task="sft", bf16=True)
    with pytest.raises(ConfigProblem, match="bfloat16"):
        trainer_args.check_precision(only_bf16, old_gpu)


def test_liger_kernels_are_used_on_a_gpu_when_installed(tmp_path, monkeypatch) -> None:
    import importlib.util

    import torch

    monkeypatch.delenv("COMPOSE_LIGER_KERNEL", raising=False)

    cfg = TrainerComponent(id="t", task="sft")
    kwargs = trainer_args.common_kwargs(cfg, output_dir=str(tmp_path), has_eval=False, hw=CPU, target_modules=None)
    assert kwargs["use_liger_kernel"] is False
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "liger_kernel" else real_find_spec(name, *a)
    )
    gpu = trainer_args.Hardware.detect()
    assert gpu.liger is True
    kwargs = trainer_args.common_kwargs(cfg, output_dir=str(tmp_path), has_eval=False, hw=gpu, target_modules=None)
    assert kwargs["use_liger_kernel"] is True
    for off in ("0", "false", "No", " off "):
        monkeypatch.setenv("COMPOSE_LIGER_KERNEL", off)
        assert trainer_args.Hardware.detect().liger is False
    monkeypatch.setenv("COMPOSE_LIGER_KERNEL", "1")
    assert trainer_args.Hardware.detect().liger is True
    monkeypatch.setenv("COMPOSE_LIGER_KERNEL", "of")  # a typo does not quietly leave them on
    with pytest.raises(ConfigProblem, match="COMPOSE_LIGER_KERNEL.*'of'"):
        trainer_args.Hardware.detect()
