"""The seed's optimizer names -> transformers' ``optim`` values, and what each needs.

Transformers knows most of the seed's names; two are spelled differently there
(``OPTIMIZER_ALIASES``). Some optimizers call CUDA kernels unconditionally: on a
machine without CUDA they are refused before the model loads, with alternatives.
GaLore/APOLLO project the gradients of chosen linear layers, so they need
``optim_target_modules``; when the YAML gives none we pick the model's attention and
MLP projections.
"""

from __future__ import annotations

import re
from typing import Any

from compose.schema.components import OPTIMIZER_ALIASES
from runner.finetune.errors import ConfigProblem

# transformers name -> why it cannot run without CUDA, and what to use instead.
CUDA_ONLY: dict[str, tuple[str, str]] = {
    "galore_adamw_8bit": (
        "its 8-bit GaLore kernels (bitsandbytes) run on CUDA only",
        "galore_adamw (same projection, 32-bit states) or adamw_8bit",
    ),
    "adalomo": ("AdaLomo's fused update calls CUDA", "lomo or adafactor"),
    "galore_adamw_8bit_layerwise": ("its 8-bit GaLore kernels run on CUDA only", "galore_adamw_layerwise"),
}

NEEDS_TARGET_MODULES = ("galore_", "apollo_")

# Linear layers worth projecting, by the names common decoder and encoder models use.
_ATTENTION_MLP = re.compile(
    r"(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj|query|key|value|dense|"
    r"c_attn|c_proj|c_fc|fc1|fc2|out_proj|wq|wk|wv|wo|w1|w2|w3)$"
)


def transformers_name(name: str) -> str:
    return OPTIMIZER_ALIASES.get(name, name)


def check_available(name: str, *, cuda: bool) -> None:
    """Refuse an optimizer this machine cannot run, before anything is loaded."""
    optim = transformers_name(name)
    if optim in CUDA_ONLY and not cuda:
        reason, alternatives = CUDA_ONLY[optim]
        raise ConfigProblem(
            "optimizer", f"{name} needs a CUDA GPU ({reason}) and none is available here; use {alternatives} instead"
        )


def needs_target_modules(name: str) -> bool:
    return transformers_name(name).startswith(NEEDS_TARGET_MODULES)


def default_target_modules(model: Any) -> list[str]:
    """Short names of the model's attention/MLP linear layers (the output head excluded)."""
    import torch

    names: set[str] = set()
    for full_name, module in model.named_modules():
        short = full_name.rsplit(".", 1)[-1]
        if isinstance(module, torch.nn.Linear) and _ATTENTION_MLP.search(short):
            names.add(short)
    if not names:
        raise ConfigProblem(
            "optim_target_modules",
            "could not find attention or MLP linear layers in this model; list the layer names to project",
        )
    return sorted(names)


def optim_args_string(args: dict[str, Any] | None) -> str | None:
    """``optimizer_args`` as transformers' ``optim_args`` text (``key=value,key=value``)."""
    if not args:
        return None
    return ",".join(f"{key}={value}" for key, value in args.items())
