"""Our trainer fields -> ``SFTConfig`` / ``TrainingArguments``: the one place the mapping lives.

trl's ``SFTConfig`` has opinions of its own (``bf16=True``, ``gradient_checkpointing=True``);
every such field is set here explicitly from the compose file so the YAML means the same
thing under both trainers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from compose.envvars import EnvError, env_bool
from compose.schema.components import TrainerComponent
from runner.finetune import optimizers
from runner.finetune.errors import ConfigProblem


@dataclass
class Hardware:
    cuda: bool
    bf16_supported: bool
    # Liger's fused Triton kernels (RMSNorm, RoPE, SwiGLU, cross-entropy): used on a GPU
    # whenever the package is installed; they cut peak memory and time for Llama-like models.
    # COMPOSE_LIGER_KERNEL=0 in the worker's environment turns them off.
    liger: bool = False
    gpu_count: int = 0
    gpu_memory_mb: tuple[int, ...] = ()  # of each visible GPU

    @classmethod
    def detect(cls) -> Hardware:
        import importlib.util

        import torch

        cuda = torch.cuda.is_available()
        return cls(
            cuda=cuda,
            bf16_supported=torch.cuda.is_bf16_supported() if cuda else True,
            liger=cuda and liger_allowed() and importlib.util.find_spec("liger_kernel") is not None,
            gpu_count=torch.cuda.device_count() if cuda else 0,
            gpu_memory_mb=tuple(
                torch.cuda.get_device_properties(i).total_memory // 2**20 for i in range(torch.cuda.device_count())
            )
            if cuda
            else (),
        )


def liger_allowed() -> bool:
    """``COMPOSE_LIGER_KERNEL``, read as every switch is (:mod:`compose.envvars`): unset allows
    the kernels, 0 / false / no / off (or blank) turns them off; anything else fails the job
    before it loads, naming it."""
    try:
        return env_bool("COMPOSE_LIGER_KERNEL", True)
    except EnvError as exc:
        raise ConfigProblem("COMPOSE_LIGER_KERNEL", f"the worker's environment: {exc}") from None


def precision(cfg: TrainerComponent, hw: Hardware) -> tuple[bool, bool]:
    """(fp16, bf16) for the run. The seed lists the two as alternatives, so a file that
    sets both gets bf16 where the device supports it, else fp16."""
    if cfg.fp16 and cfg.bf16:
        return (False, True) if hw.bf16_supported else (True, False)
    return cfg.fp16, cfg.bf16


def check_precision(cfg: TrainerComponent, hw: Hardware) -> None:
    """Refuse a precision the hardware lacks. On CPU both run as autocast (``use_cpu``)."""
    fp16, bf16 = precision(cfg, hw)
    if bf16 and hw.cuda and not hw.bf16_supported:
        raise ConfigProblem(
            "bf16", "this GPU has no bfloat16 support (it needs Ampere or newer); use fp16: true instead"
        )
    if fp16 and not hw.cuda and not cpu_fp16_supported():
        raise ConfigProblem(
            "fp16",
            "this torch has no float16 autocast on CPU and there is no CUDA GPU; "
            "use bf16: true (CPU autocast) or remove fp16",
        )
    if fp16 and not hw.cuda and cfg.optimizer == "lomo":
        raise ConfigProblem(
            "fp16",
            "lomo cannot train under fp16 on CPU: it updates the weights inside the "
            "backward pass, where the float16 gradient scaler cannot unscale them; "
            "use bf16: true or remove fp16",
        )


def cpu_fp16_supported() -> bool:
    """Whether torch autocasts to float16 on CPU (older versions ignore the dtype there)."""
    import warnings

    import torch

    if not torch.amp.is_autocast_available("cpu"):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autocast("cpu", dtype=torch.float16):
            return torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.float16


def enable_cpu_fp16(trainer: Any, cfg: TrainerComponent, hw: Hardware) -> bool:
    """``fp16`` without CUDA: float16 autocast and a gradient scaler, as accelerate sets up on a GPU.

    accelerate leaves ``mixed_precision="fp16"`` off on CPU without a word, so the run would
    be float32 throughout. Both settings are read when the trainer prepares the model and
    optimizer at the start of ``train()`` (and saved in checkpoints, like a GPU's scaler).
    """
    if hw.cuda or not precision(cfg, hw)[0]:
        return False
    import torch

    accelerator = trainer.accelerator
    accelerator.native_amp = True
    accelerator.scaler = torch.amp.GradScaler("cpu")
    return True


def check_gpus(cfg: TrainerComponent, hw: Hardware) -> None:
    """Refuse ``resources.gpus`` beyond the GPUs this machine shows, instead of training on
    CPU unasked or failing later on a missing device."""
    wanted = cfg.resources.gpus
    if wanted <= hw.gpu_count:
        _check_gpu_memory(cfg, hw)
        return
    has = f"{hw.gpu_count} visible" if hw.gpu_count else "none (no CUDA device)"
    hint = (
        "set gpus to at most that, or run it on a worker with more GPUs"
        if hw.gpu_count
        else "use gpus: 0 (with processes: N for data-parallel CPU training), or run it on a GPU worker"
    )
    raise ConfigProblem(
        "resources.gpus", f"asks for {wanted} GPU{'s' if wanted > 1 else ''}; this machine has {has}: {hint}"
    )


def _check_gpu_memory(cfg: TrainerComponent, hw: Hardware) -> None:
    """Refuse GPUs with less memory than ``resources.gpu_memory_gb`` before the model loads
    (a placement that matched the need never gets here; a local run on a smaller card does)."""
    needed = cfg.resources.gpu_memory_gb
    if not needed or not cfg.resources.gpus:
        return
    small = [(i, mb) for i, mb in enumerate(hw.gpu_memory_mb[: cfg.resources.gpus]) if mb < needed * 1024]
    if small:
        index, mb = small[0]
        raise ConfigProblem(
            "resources.gpu_memory_gb",
            f"asks for GPUs of {needed:g} GB; cuda:{index} has "
            f"{mb / 1024:.1f} GB: lower gpu_memory_gb or run it on a "
            "worker with larger GPUs",
        )


def scheduler_kwargs(cfg: TrainerComponent, total_steps: int | None) -> dict[str, Any]:
    """``lr_scheduler_kwargs`` with the defaults a scheduler cannot start without."""
    kwargs = dict(cfg.lr_scheduler_kwargs or {})
    kind = cfg.lr_scheduler_type
    if kind == "cosine_with_min_lr" and "min_lr" not in kwargs and "min_lr_rate" not in kwargs:
        kwargs["min_lr_rate"] = 0.1
    if kind == "warmup_stable_decay" and "num_decay_steps" not in kwargs and "num_stable_steps" not in kwargs:
        # Decay over the last 10% of the steps left after warmup.
        after_warmup = max(1, (total_steps or 1) - cfg.warmup_steps)
        kwargs["num_decay_steps"] = max(1, math.ceil(after_warmup * 0.1))
    return kwargs


def check_scheduler(cfg: TrainerComponent, has_eval: bool) -> None:
    if cfg.lr_scheduler_type == "reduce_lr_on_plateau" and not has_eval:
        raise ConfigProblem(
            "lr_scheduler_type",
            "reduce_lr_on_plateau lowers the learning rate when the eval "
            "loss stops improving, so it needs eval_dataset (and eval_steps)",
        )


def common_kwargs(
    cfg: TrainerComponent, *, output_dir: str, has_eval: bool, hw: Hardware, target_modules: list[str] | None
) -> dict[str, Any]:
    """Keyword arguments shared by ``TrainingArguments`` and ``SFTConfig``."""
    eval_strategy = "no"
    if has_eval:
        eval_strategy = "steps" if cfg.eval_steps else "epoch"
    kwargs: dict[str, Any] = {
        "output_dir": output_dir,
        "learning_rate": cfg.learning_rate,
        "per_device_train_batch_size": cfg.per_device_train_batch_size,
        "per_device_eval_batch_size": cfg.per_device_eval_batch_size,
        "num_train_epochs": cfg.num_epochs,
        "max_steps": cfg.max_steps if cfg.max_steps > 0 else -1,
        "optim": optimizers.transformers_name(cfg.optimizer),
        "optim_args": optimizers.optim_args_string(cfg.optimizer_args),
        "optim_target_modules": target_modules,
        "lr_scheduler_type": cfg.lr_scheduler_type,
        # Completed by ``finish_scheduler_kwargs`` once the step count is known.
        "lr_scheduler_kwargs": dict(cfg.lr_scheduler_kwargs or {}),
        "warmup_steps": cfg.warmup_steps,
        "weight_decay": cfg.weight_decay,
        "max_grad_norm": cfg.max_grad_norm,
        "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        "eval_strategy": eval_strategy,
        "eval_steps": cfg.eval_steps if has_eval else None,
        "save_strategy": "steps" if cfg.save_steps else "no",
        "save_steps": cfg.save_steps or 500,
        "logging_strategy": "steps",
        "logging_steps": cfg.logging_steps,
        # transformers 5 renamed gradient_* to activation_checkpointing*; trl's config still
        # defaults the old name to True, so both are set.
        "activation_checkpointing": cfg.gradient_checkpointing,
        "gradient_checkpointing": cfg.gradient_checkpointing,
        # Non-reentrant checkpointing also works when only adapter weights need grads.
        "activation_checkpointing_kwargs": {"use_reentrant": False} if cfg.gradient_checkpointing else None,
        "fp16": precision(cfg, hw)[0],
        "bf16": precision(cfg, hw)[1],
        "use_cpu": not hw.cuda,
        "use_liger_kernel": hw.liger,
        "seed": cfg.seed,
        "data_seed": cfg.seed,
        # TensorBoard files come from the runner's own callback (runner.finetune.tensorboard).
        "report_to": "none",
        "disable_tqdm": True,
    }
    if cfg.lr_scheduler_type == "reduce_lr_on_plateau":
        kwargs["metric_for_best_model"] = "eval_loss"
        kwargs["greater_is_better"] = False
    return kwargs


def sft_config(cfg: TrainerComponent, *, text_field: str | None, prompt_completion: bool, **common: Any):
    from trl import SFTConfig

    kwargs = common_kwargs(cfg, **common)
    kwargs.update(
        max_length=cfg.max_seq_length,
        packing=cfg.packing,
        dataset_text_field=text_field or "text",
        # Prompt/response rows: the loss covers the response tokens only.
        completion_only_loss=True if prompt_completion else None,
        assistant_only_loss=False,
    )
    return _build(SFTConfig, kwargs)


def training_arguments(cfg: TrainerComponent, **common: Any):
    from transformers import TrainingArguments

    kwargs = common_kwargs(cfg, **common)
    kwargs["remove_unused_columns"] = True
    return _build(TrainingArguments, kwargs)


def _build(cls: type, kwargs: dict[str, Any]):
    try:
        return cls(**kwargs)
    except ValueError as exc:
        raise ConfigProblem("training arguments", str(exc)) from exc


def finish_scheduler_kwargs(trainer: Any, cfg: TrainerComponent) -> None:
    """Fill scheduler defaults that depend on the real number of optimizer steps."""
    args = trainer.args
    total = args.max_steps if args.max_steps and args.max_steps > 0 else None
    if total is None:
        batches = len(trainer.get_train_dataloader())
        per_epoch = max(1, batches // args.gradient_accumulation_steps)
        total = math.ceil(per_epoch * args.num_train_epochs)
    args.lr_scheduler_kwargs = scheduler_kwargs(cfg, total)
