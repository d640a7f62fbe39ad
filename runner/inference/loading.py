"""The model, its tokenizer and its adapters, as a model component asks for them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compose.jobspec import JobFailed
from compose.schema.components import ModelComponent, ModelValue, PeftAdapterSpec
from runner.finetune.errors import ConfigProblem
from runner.finetune.model import ModelSource as Source
from runner.finetune.model import resolve_source

TORCH_DTYPES = {"float32": "float32", "float16": "float16", "bfloat16": "bfloat16"}
LABELS_FILE = "labels.json"  # what a classification trainer saves beside its adapter


@dataclass
class Loaded:
    model: Any
    tokenizer: Any
    device: str
    labels: list[str] | None  # classification: the name of each class


def source_of(value: ModelValue, field: str, resolve_path: Callable[[str], Path]) -> tuple[Source, str | None]:
    """Where a ``model`` value points (a local folder or a cached hub id) and its revision.

    The string form is a local folder when one exists there, else a hub id; the object
    form says which. A hub id is read from the local cache when the hub is out of reach
    (``resolve_source``): a job never waits on a download it cannot make.
    """
    if isinstance(value, str):
        return _checked(value, field, resolve_path), None
    if value.provider == "local":
        path = resolve_path(value.path or "")
        if not path.is_dir():
            raise JobFailed(f"{field}.path: folder {value.path!r} not found (looked in {path})")
        return Source(str(path), local=True), None
    return _checked(value.repository or "", f"{field}.repository", resolve_path), value.revision


def _checked(value: str, field: str, resolve_path: Callable[[str], Path]) -> Source:
    try:
        return resolve_source(value, field, resolve_path)
    except ConfigProblem as exc:
        raise JobFailed(str(exc)) from None


def pick_device(cfg: ModelComponent) -> str:
    import torch

    wanted = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if wanted.startswith("cuda"):
        if not torch.cuda.is_available():
            raise JobFailed(f"device {wanted}: this machine has no CUDA GPU; use device: cpu")
        index = int(wanted.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise JobFailed(f"device {wanted}: this machine has {torch.cuda.device_count()} GPU(s)")
    return wanted


def torch_dtype(cfg: ModelComponent) -> Any:
    import torch

    return "auto" if cfg.precision == "auto" else getattr(torch, TORCH_DTYPES[cfg.precision])


def quantization_config(cfg: ModelComponent) -> Any:
    """bitsandbytes settings: int8, or 4-bit as nf4 or fp4 (int4 is bitsandbytes' fp4)."""
    if cfg.quantization is None:
        return None
    import torch
    from transformers import BitsAndBytesConfig

    if cfg.quantization == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    compute = torch.float32 if cfg.precision in ("auto", "float32") else getattr(torch, TORCH_DTYPES[cfg.precision])
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4" if cfg.quantization == "nf4" else "fp4",
        bnb_4bit_compute_dtype=compute,
    )


def adapter_name(adapter: PeftAdapterSpec, index: int) -> str:
    return adapter.name or f"adapter{index}"


def load(cfg: ModelComponent, resolve_path: Callable[[str], Path], token: str | None) -> Loaded:
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    device = pick_device(cfg)
    quant = quantization_config(cfg)
    if quant is not None and not device.startswith("cuda"):
        raise JobFailed(
            f"quantization: {cfg.quantization} needs a CUDA GPU (bitsandbytes); this job runs on "
            f"{device}: remove quantization or run it where there is a GPU"
        )
    source, revision = source_of(cfg.model, "model", resolve_path)  # type: ignore[arg-type]
    adapters = [
        (adapter_name(a, i), a, *source_of(a.model, f"peft_adapters[{i}].model", resolve_path))
        for i, a in enumerate(cfg.peft_adapters or [])
    ]
    common: dict[str, Any] = {"local_files_only": source.local_files_only or not source.local, "token": token}
    if revision:
        common["revision"] = revision
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.name, **common)
    except OSError as exc:
        raise JobFailed(f"model: cannot load a tokenizer from {_named(source, revision)}: {exc}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    kwargs: dict[str, Any] = {**common, "dtype": torch_dtype(cfg)}
    if quant is not None:
        kwargs["quantization_config"] = quant
        kwargs["device_map"] = {"": device}
    labels = None
    if cfg.task == "text-classification":
        auto = AutoModelForSequenceClassification
        labels = _adapter_labels([Path(s.name) for _, _, s, _ in adapters if s.local])
        if labels is not None:
            kwargs.update(
                num_labels=len(labels),
                id2label=dict(enumerate(labels)),
                label2id={name: i for i, name in enumerate(labels)},
            )
    else:
        auto = AutoModelForCausalLM
    try:
        model = auto.from_pretrained(source.name, **kwargs)
    except OSError as exc:
        raise JobFailed(f"model: cannot load {_named(source, revision)}: {exc}") from exc
    except ImportError as exc:  # bitsandbytes missing or unusable
        raise JobFailed(f"quantization: {exc}") from exc
    if adapters:
        model = apply_adapters(model, [(name, spec.weight, s, rev) for name, spec, s, rev in adapters], token)
    if quant is None:
        model.to(device)
    model.eval()
    if labels is None and cfg.task == "text-classification":
        config = model.config
        labels = [str(config.id2label.get(i, i)) for i in range(config.num_labels)]
    return Loaded(model=model, tokenizer=tokenizer, device=device, labels=labels)


def _named(source: Source, revision: str | None) -> str:
    return f"{source.name!r}" + (f" at revision {revision}" if revision else "")


def _adapter_labels(folders: list[Path]) -> list[str] | None:
    for folder in folders:
        path = folder / LABELS_FILE
        if path.is_file():
            labels = json.loads(path.read_text(encoding="utf-8")).get("labels")
            if isinstance(labels, list) and labels:
                return [str(label) for label in labels]
    return None


def apply_adapters(model: Any, adapters: list[tuple[str, float, Source, str | None]], token: str | None) -> Any:
    """``model`` with every LoRA adapter loaded and active at once, each scaled by its weight.

    Nothing is merged: the base weights stay as they are (a quantized base cannot take
    a merge), and an adapter at weight 0 adds exactly nothing.
    """
    from peft import PeftModel
    from peft.tuners.lora import LoraLayer

    wrapped = None
    for name, _weight, source, revision in adapters:
        extra: dict[str, Any] = {
            "adapter_name": name,
            "local_files_only": source.local_files_only or not source.local,
            "token": token,
        }
        if revision:
            extra["revision"] = revision
        try:
            if wrapped is None:
                wrapped = PeftModel.from_pretrained(model, source.name, **extra)
            else:
                wrapped.load_adapter(source.name, **extra)
        except (OSError, ValueError) as exc:
            raise JobFailed(
                f"peft_adapters: cannot load adapter {name} from {_named(source, revision)}: {exc}"
            ) from exc
    assert wrapped is not None
    weights = {name: weight for name, weight, _, _ in adapters}
    wrapped.base_model.set_adapter(list(weights))
    for module in wrapped.modules():
        if isinstance(module, LoraLayer):
            for name, weight in weights.items():
                if name in module.scaling:
                    module.set_scale(name, weight)
    return wrapped
