"""The two ways of writing a component (SPEC §2), normalized into one.

The seed (flat) form is canonical: ``peft_adapter: lora`` + ``lora_r`` ..., trainer
fields at the top level, datasets ``provider``/``loader``/``method``. The nested form
of public model-compose (``lora: {rank}``, ``quantization: {type}``, trainer fields
under ``action:``, datasets ``driver`` + ``action``/``actions``) is read into the same
field names. Every field remembers where it was written (its *origin*), so problems
point at the user's own key and an edit can be written back in place.

This module works on plain dicts from YAML and never validates values; that is
``compose.schema.checks``' job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from compose.schema.components import (
    DATASET_LOADERS,
    GENERATION_FIELDS,
    DatasetsComponent,
    ModelComponent,
    TrainerComponent,
)
from compose.suggest import did_you_mean

RelPath = tuple[Any, ...]

TRAINER_FIELDS: tuple[str, ...] = tuple(n for n in TrainerComponent.model_fields if n not in ("id", "type"))
DATASETS_FIELDS: tuple[str, ...] = tuple(n for n in DatasetsComponent.model_fields if n not in ("id", "type"))
MODEL_FIELDS: tuple[str, ...] = tuple(n for n in ModelComponent.model_fields if n not in ("id", "type"))
# What model-compose's ``action:`` of a model component holds, and its ``params:``.
MODEL_ACTION_FIELDS: tuple[str, ...] = (
    "prompt",
    "messages",
    "text",
    "dataset",
    "batch_size",
    "max_output_length",
    "num_return_sequences",
    "stop_sequences",
)
# model-compose keeps the generation settings under action.params.
MODEL_PARAMS_FIELDS: tuple[str, ...] = GENERATION_FIELDS

LORA_NESTED: dict[str, str] = {
    "rank": "lora_r",
    "alpha": "lora_alpha",
    "dropout": "lora_dropout",
    "target_modules": "lora_target_modules",
    "bias": "lora_bias",
}
QUANT_NESTED: dict[str, str] = {
    "type": "quantization",
    "compute_dtype": "bnb_4bit_compute_dtype",
    "double_quant": "bnb_4bit_use_double_quant",
}
# Spellings of a quantization accepted on input; the value is the canonical name.
# ``int4`` is bitsandbytes' fp4 and stays spelled int4, as the seed has it.
QUANT_SHORTHANDS: dict[str, str] = {
    "nf4": "nf4",
    "4bit": "nf4",
    "int4": "int4",
    "fp4": "int4",
    "int8": "int8",
    "8bit": "int8",
}
# Builder names that make a nested ``load`` action read local files.
FILE_BUILDERS: tuple[str, ...] = DATASET_LOADERS
JOB_KEYS: tuple[str, ...] = (
    "id",
    "component",
    "method",
    "action",
    "input",
    "output",
    "depends_on",
    "title",
    "description",
)
WORKFLOW_KEYS: tuple[str, ...] = ("id", "title", "description", "jobs", "output", "default")
ACTION_ONLY_KEYS: tuple[str, ...] = ("id", "default")


@dataclass
class Origin:
    """Where a normalized field was written, relative to its component."""

    path: RelPath
    exact: bool = True  # the written value is the field's value, unchanged


@dataclass
class Normalized:
    """One component after normalization; ``problems`` hold (relative path, message)."""

    id: Any = None
    type: Any = None
    fields: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    action_origins: dict[str, dict[str, Origin]] = field(default_factory=dict)
    action_index: dict[str, int] = field(default_factory=dict)  # action id -> position in actions:
    default_action: str | None = None
    nested: bool = False  # any nested-dialect construct was used
    problems: list[tuple[RelPath, str]] = field(default_factory=list)

    def error(self, path: RelPath, message: str) -> None:
        self.problems.append((path, message))


def normalize_component(raw: dict[str, Any]) -> Normalized:
    """Read one component mapping written in either dialect (or a mix)."""
    out = Normalized(id=raw.get("id"), type=raw.get("type"))
    if out.type == "model-trainer":
        _normalize_trainer(raw, out)
    elif out.type == "datasets":
        _normalize_datasets(raw, out)
    elif out.type == "model":
        _normalize_model(raw, out)
    else:
        # Unknown types are reported by the checks; keep the fields as written.
        for key, value in raw.items():
            if key not in ("id", "type"):
                _put(out, out.fields, out.origins, key, value, Origin((key,)))
    return out


def _put(
    out: Normalized, fields: dict[str, Any], origins: dict[str, Origin], name: str, value: Any, origin: Origin
) -> None:
    if name in fields and name in origins:
        first = ".".join(str(s) for s in origins[name].path)
        out.error(origin.path, f"{name} is given twice (also as {first}); keep one")
        return
    fields[name] = value
    origins[name] = origin


# --- model-trainer ----------------------------------------------------------------


def _entries(raw: dict[str, Any], out: Normalized, action_expected: str) -> Iterator[tuple[Any, Any, RelPath, bool]]:
    """``(key, value, path, in_action)`` for each field of a component written as top-level
    keys and (nested dialect) under one ``action:`` mapping, which marks ``out`` nested."""
    for key, value in raw.items():
        if key in ("id", "type"):
            continue
        if key != "action":
            yield key, value, (key,), False
            continue
        out.nested = True
        if not isinstance(value, dict):
            out.error(("action",), f"action: expected {action_expected}")
            continue
        for sub, sub_value in value.items():
            yield sub, sub_value, ("action", sub), True


def _normalize_trainer(raw: dict[str, Any], out: Normalized) -> None:
    nested_lora: RelPath | None = None
    for key, value, path, _ in _entries(raw, out, "a mapping of training fields"):
        found = _trainer_entry(out, key, value, path)
        nested_lora = nested_lora or found
    if nested_lora is not None:
        flat = [n for n, o in out.origins.items() if n.startswith("lora_") and o.path[-2:-1] != ("lora",)]
        for name in flat:
            out.error(
                out.origins[name].path,
                "LoRA is given twice: use either the nested lora: {...} block or the lora_* fields, not both",
            )


def _trainer_entry(out: Normalized, key: Any, value: Any, path: RelPath) -> RelPath | None:
    """Read one trainer key; returns its path when it is the nested ``lora:`` block."""
    if key == "lora":
        out.nested = True
        if not isinstance(value, dict):
            out.error(path, "lora: expected a mapping such as {rank: 8, alpha: 16}")
            return path
        if "peft_adapter" not in out.fields:
            out.fields["peft_adapter"] = "lora"
            out.origins["peft_adapter"] = Origin(path, exact=False)
        for sub, sub_value in value.items():
            name = LORA_NESTED.get(sub)
            if name is None:
                out.error(
                    path + (sub,),
                    f"unknown LoRA setting {sub}{did_you_mean(sub, LORA_NESTED, quote=False)}; "
                    f"valid: {', '.join(LORA_NESTED)}",
                )
                continue
            _put(out, out.fields, out.origins, name, sub_value, Origin(path + (sub,)))
        return path
    if key == "quantization":
        _quantization(out, value, path)
        return None
    if key in TRAINER_FIELDS:
        _put(out, out.fields, out.origins, key, value, Origin(path))
        return None
    known = (*TRAINER_FIELDS, "lora", "action")
    out.error(path, f"unknown field {key} for a model-trainer component{did_you_mean(key, known, quote=False)}")
    return None


def _quantization(out: Normalized, value: Any, path: RelPath) -> None:
    if isinstance(value, dict):
        out.nested = True
        for sub, sub_value in value.items():
            name = QUANT_NESTED.get(sub)
            if name is None:
                out.error(
                    path + (sub,),
                    f"unknown quantization setting {sub}{did_you_mean(sub, QUANT_NESTED, quote=False)}; "
                    f"valid: {', '.join(QUANT_NESTED)}",
                )
                continue
            if name == "quantization" and isinstance(sub_value, str) and sub_value in QUANT_SHORTHANDS:
                canonical = QUANT_SHORTHANDS[sub_value]
                _put(out, out.fields, out.origins, name, canonical, Origin(path + (sub,), canonical == sub_value))
            else:
                _put(out, out.fields, out.origins, name, sub_value, Origin(path + (sub,)))
        return
    if isinstance(value, str) and value in QUANT_SHORTHANDS:
        canonical = QUANT_SHORTHANDS[value]
        if canonical != value:
            out.nested = True
        _put(out, out.fields, out.origins, "quantization", canonical, Origin(path, canonical == value))
        return
    _put(out, out.fields, out.origins, "quantization", value, Origin(path))


# --- model ------------------------------------------------------------------------

_MODEL_REFUSED: dict[str, str] = {
    "output": "output: under a model component is not read here: map the response in the job's output: "
    "(e.g. output: ${output.generated_text})",
}


def _normalize_model(raw: dict[str, Any], out: Normalized) -> None:
    for key, value, path, in_action in _entries(raw, out, "a mapping with prompt, messages or text and params"):
        _model_entry(out, key, value, path, MODEL_ACTION_FIELDS if in_action else MODEL_FIELDS)


def _model_entry(out: Normalized, key: Any, value: Any, path: RelPath, allowed: tuple[str, ...]) -> None:
    if key == "params":
        if not isinstance(value, dict):
            out.error(path, "params: expected a mapping such as {max_output_length: 64, temperature: 0.7}")
            return
        for sub, sub_value in value.items():
            if sub in MODEL_PARAMS_FIELDS:
                _put(out, out.fields, out.origins, sub, sub_value, Origin(path + (sub,)))
            else:
                out.error(
                    path + (sub,),
                    f"unknown generation setting {sub}{did_you_mean(sub, MODEL_PARAMS_FIELDS, quote=False)}; "
                    f"valid: {', '.join(MODEL_PARAMS_FIELDS)}",
                )
        return
    if key == "quantization" and isinstance(value, dict):
        out.nested = True
        for sub, sub_value in value.items():
            if sub == "type":
                _put(out, out.fields, out.origins, "quantization", sub_value, Origin(path + (sub,)))
            else:
                out.error(
                    path + (sub,),
                    f"quantization.{sub} is not supported here: give the type only (int8, int4, fp4 or nf4)",
                )
        return
    if key in _MODEL_REFUSED:
        out.error(path, _MODEL_REFUSED[key])
        return
    if key in allowed:
        _put(out, out.fields, out.origins, key, value, Origin(path))
        return
    known = (*allowed, "params", *(("action",) if allowed is MODEL_FIELDS else ()))
    where = "a model component" if allowed is MODEL_FIELDS else "a model action"
    out.error(path, f"unknown field {key} for {where}{did_you_mean(key, known, quote=False)}")


# --- datasets ---------------------------------------------------------------------


def _normalize_datasets(raw: dict[str, Any], out: Normalized) -> None:
    for key, value in raw.items():
        if key in ("id", "type"):
            continue
        if key == "driver":
            out.nested = True
            if value != "huggingface":
                out.error(("driver",), f"driver {value!r} is not supported: the datasets driver is huggingface")
        elif key == "action":
            out.nested = True
            if not isinstance(value, dict):
                out.error(("action",), "action: expected a mapping with method: load|concat|select|filter|map")
                continue
            _datasets_action(out, value, ("action",), out.fields, out.origins, allow_id=False)
        elif key == "actions":
            out.nested = True
            _datasets_actions(out, value)
        elif key in DATASETS_FIELDS:
            _put(out, out.fields, out.origins, key, value, Origin((key,)))
        else:
            known = (*DATASETS_FIELDS, "driver", "action", "actions")
            out.error((key,), f"unknown field {key} for a datasets component{did_you_mean(key, known, quote=False)}")


def _datasets_actions(out: Normalized, value: Any) -> None:
    if not isinstance(value, list):
        out.error(("actions",), "actions: expected a list of actions, each with an id and a method")
        return
    for index, item in enumerate(value):
        path: RelPath = ("actions", index)
        if not isinstance(item, dict):
            out.error(path, "an action must be a mapping with an id and a method")
            continue
        action_id = item.get("id")
        if not isinstance(action_id, str) or not action_id:
            out.error(path, "this action needs an id (jobs pick it with action: <id>)")
            continue
        if action_id in out.actions:
            out.error(path + ("id",), f"action id {action_id} is used twice")
            continue
        fields: dict[str, Any] = {}
        origins: dict[str, Origin] = {}
        _datasets_action(out, item, path, fields, origins, allow_id=True)
        if item.get("default") is True:
            if out.default_action is not None:
                out.error(path + ("default",), f"only one action can be the default (also {out.default_action})")
            else:
                out.default_action = action_id
        out.actions[action_id] = fields
        out.action_origins[action_id] = origins
        out.action_index[action_id] = index


def _datasets_action(
    out: Normalized,
    action: dict[str, Any],
    path: RelPath,
    fields: dict[str, Any],
    origins: dict[str, Origin],
    *,
    allow_id: bool,
) -> None:
    method = action.get("method", "load")
    for key, value in action.items():
        if allow_id and key in ACTION_ONLY_KEYS:
            continue
        sub = path + (key,)
        if (
            key == "path"
            and method == "load"
            and isinstance(value, str)
            and value in FILE_BUILDERS
            and "loader" not in action
            and "provider" not in action
        ):
            _put(out, fields, origins, "provider", "local", Origin(sub, exact=False))
            _put(out, fields, origins, "loader", value, Origin(sub, exact=False))
        elif key in DATASETS_FIELDS:
            _put(out, fields, origins, key, value, Origin(sub))
        else:
            known = (*DATASETS_FIELDS, *(ACTION_ONLY_KEYS if allow_id else ()))
            out.error(sub, f"unknown field {key} for a datasets action{did_you_mean(key, known, quote=False)}")


# --- jobs and workflows -------------------------------------------------------------


@dataclass
class NormalizedJob:
    values: dict[str, Any]
    problems: list[tuple[RelPath, str]] = field(default_factory=list)
    method_key: str = "method"  # how the file spells it: method (seed) or action (nested)


def normalize_job(raw: dict[str, Any]) -> NormalizedJob:
    values: dict[str, Any] = {}
    job = NormalizedJob(values)
    for key, value in raw.items():
        if key not in JOB_KEYS:
            job.problems.append(((key,), f"unknown job field {key}{did_you_mean(key, JOB_KEYS, quote=False)}"))
            continue
        if key == "action":
            if "method" in raw:
                job.problems.append(((key,), "give either method: (seed form) or action: (nested form), not both"))
                continue
            job.method_key = "action"
            values["method"] = value
        elif key == "depends_on" and isinstance(value, str):
            values["depends_on"] = [value]
        elif key == "input" and value is None:
            values["input"] = {}
        else:
            values[key] = value
    return job


def job_field_path(key: str, method_key: str) -> str:
    """The key a normalized job field was written under."""
    return method_key if key == "method" else key
