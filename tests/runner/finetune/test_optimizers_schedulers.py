"""Every optimizer and scheduler name of the seed (§9.3.2-9.3.3) trains, or is refused up front."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.jobspec import JobFailed
from compose.schema.components import LR_SCHEDULERS, OPTIMIZERS
from runner.finetune import args as trainer_args
from runner.finetune.optimizers import CUDA_ONLY, transformers_name
from tests.fixtures import data
from tests.fixtures.training import metrics, run_trainer, trainer_spec

STEPS = dict(
    max_steps=3, per_device_train_batch_size=2, logging_steps=1, save_steps=None, max_seq_length=32, text_column="text"
)
HAS_CUDA = trainer_args.Hardware.detect().cuda


def _cuda_only(name: str) -> bool:
    return transformers_name(name) in CUDA_ONLY and not HAS_CUDA


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_optimizer(tmp_path: Path, tiny_causal_lm_dir: Path, optimizer: str) -> None:
    spec = trainer_spec(tmp_path, tiny_causal_lm_dir, data.text_rows(6), optimizer=optimizer, **STEPS)
    if _cuda_only(optimizer):
        with pytest.raises(JobFailed, match=rf"optimizer: {optimizer} needs a CUDA GPU .* use \w+"):
            run_trainer(spec)
        assert not (tmp_path / "out").exists()  # refused before anything loaded
        return
    steps = STEPS["max_steps"]
    if optimizer == "schedule_free_radamw":
        # RAdam's first steps, while its variance estimate is unreliable, change nothing.
        steps = 8
        spec.config["max_steps"] = steps
    output, seen = run_trainer(spec)
    assert output["global_step"] == steps
    assert len(metrics(seen)) == steps
    assert changed_weights(tiny_causal_lm_dir, tmp_path / "out"), f"{optimizer} left every weight as it was"


def changed_weights(base: Path, trained: Path) -> list[str]:
    from safetensors.torch import load_file

    before, after = load_file(base / "model.safetensors"), load_file(trained / "model.safetensors")
    return [name for name, tensor in after.items() if name in before and not before[name].equal(tensor)]


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", LR_SCHEDULERS)
def test_scheduler(tmp_path: Path, tiny_causal_lm_dir: Path, scheduler: str) -> None:
    rows = data.text_rows(6)
    # Only reduce_lr_on_plateau needs evaluations; the others skip them to stay fast.
    evaluation = dict(eval_rows=rows[:2], eval_steps=1) if scheduler == "reduce_lr_on_plateau" else {}
    spec = trainer_spec(
        tmp_path,
        tiny_causal_lm_dir,
        rows,
        lr_scheduler_type=scheduler,
        warmup_steps=1,
        learning_rate=1e-3,
        **evaluation,
        **STEPS,
    )
    output, seen = run_trainer(spec)
    assert output["global_step"] == 3
    rates = [e["values"]["learning_rate"] for e in metrics(seen)]
    assert len(rates) == 3 and all(rate >= 0 for rate in rates)
    if scheduler in ("linear", "cosine", "polynomial", "cosine_with_min_lr"):
        assert rates[-1] < rates[1]  # decays after warmup
    if scheduler in ("constant", "constant_with_warmup"):
        assert rates[1] == rates[2] == 1e-3  # flat after warmup
    if scheduler == "constant":
        assert rates[0] == 1e-3  # no warmup at all, warmup_steps aside


@pytest.mark.slow
def test_reduce_lr_on_plateau_lowers_the_rate_with_the_given_kwargs(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    rows = data.text_rows(6)
    # A threshold no eval loss can beat: after the first evaluation sets the best, each one is a plateau
    # and halves the rate.
    spec = trainer_spec(
        tmp_path,
        tiny_causal_lm_dir,
        rows,
        eval_rows=rows[:2],
        eval_steps=1,
        learning_rate=1e-3,
        lr_scheduler_type="reduce_lr_on_plateau",
        lr_scheduler_kwargs={"patience": 0, "factor": 0.5, "threshold": 100.0, "threshold_mode": "abs"},
        **STEPS,
    )
    _, seen = run_trainer(spec)
    rates = [e["values"]["learning_rate"] for e in metrics(seen)]
    assert rates[0] == 1e-3 and rates[-1] < rates[0]
    assert all(later == earlier or later == earlier / 2 for earlier, later in zip(rates, rates[1:], strict=False))


def test_scheduler_defaults() -> None:
    from compose.schema.components import TrainerComponent

    def cfg(**fields):
        return TrainerComponent(id="t", task="sft", **fields)

    assert trainer_args.scheduler_kwargs(cfg(lr_scheduler_type="cosine_with_min_lr"), 100) == {"min_lr_rate": 0.1}
    assert trainer_args.scheduler_kwargs(
        cfg(lr_scheduler_type="cosine_with_min_lr", lr_scheduler_kwargs={"min_lr": 1e-6}), 100
    ) == {"min_lr": 1e-6}
    assert trainer_args.scheduler_kwargs(cfg(lr_scheduler_type="warmup_stable_decay", warmup_steps=10), 110) == {
        "num_decay_steps": 10
    }
    assert trainer_args.scheduler_kwargs(
        cfg(lr_scheduler_type="cosine_with_restarts", lr_scheduler_kwargs={"num_cycles": 2}), 50
    ) == {"num_cycles": 2}


def test_reduce_lr_on_plateau_without_eval_is_refused(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    spec = trainer_spec(
        tmp_path, tiny_causal_lm_dir, data.text_rows(4), lr_scheduler_type="reduce_lr_on_plateau", **STEPS
    )
    with pytest.raises(JobFailed, match="reduce_lr_on_plateau .* needs eval_dataset"):
        run_trainer(spec)


@pytest.mark.slow
def test_galore_targets_attention_and_mlp_by_default(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    from runner.finetune.optimizers import default_target_modules

    model = AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir)
    assert default_target_modules(model) == [
        "down_proj",
        "gate_proj",
        "k_proj",
        "o_proj",
        "q_proj",
        "up_proj",
        "v_proj",
    ]


@pytest.mark.slow
def test_optimizer_args_reach_the_optimizer(tmp_path: Path, tiny_causal_lm_dir: Path, monkeypatch) -> None:
    import torch

    built: list[dict] = []
    real_init = torch.optim.SGD.__init__

    def recording_init(self, params, *args, **kwargs):
        real_init(self, params, *args, **kwargs)
        built.append(dict(self.defaults))

    monkeypatch.setattr(torch.optim.SGD, "__init__", recording_init)
    spec = trainer_spec(
        tmp_path, tiny_causal_lm_dir, data.text_rows(4), optimizer="sgd", optimizer_args={"momentum": 0.9}, **STEPS
    )
    output, _ = run_trainer(spec)
    assert output["global_step"] == 3
    assert built and built[-1]["momentum"] == 0.9


@pytest.mark.slow
def test_weight_decay_and_max_grad_norm_reach_the_training_loop(
    tmp_path: Path, tiny_causal_lm_dir: Path, monkeypatch
) -> None:
    import torch

    groups: list[list[dict]] = []
    real_init = torch.optim.AdamW.__init__

    def recording_init(self, params, *args, **kwargs):
        real_init(self, params, *args, **kwargs)
        groups.append([{"weight_decay": g["weight_decay"], "size": len(g["params"])} for g in self.param_groups])

    clip_norms: list[float] = []
    real_clip = torch.nn.utils.clip_grad_norm_

    def recording_clip(parameters, max_norm, *args, **kwargs):
        clip_norms.append(float(max_norm))
        return real_clip(parameters, max_norm, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "__init__", recording_init)
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", recording_clip)
    spec = trainer_spec(
        tmp_path,
        tiny_causal_lm_dir,
        data.text_rows(4),
        optimizer="adamw_torch",
        weight_decay=0.123,
        max_grad_norm=0.5,
        **STEPS,
    )
    run_trainer(spec)
    # Weights decay; biases and norms (transformers' rule) do not.
    assert groups and sorted(g["weight_decay"] for g in groups[-1]) == [0.0, 0.123]
    assert clip_norms == [0.5] * 3  # every optimizer step clips at max_grad_norm
