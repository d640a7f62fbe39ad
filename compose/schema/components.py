"""Canonical models of the components a compose file defines (SPEC §5-6).

These are the *resolved* shapes: every ``${...}`` binding already replaced. Field
names are the seed (flat) dialect's; the nested dialect is normalized into them on
load. Defaults live here and nowhere else. The document-level loader validates
literal fields against these models and leaves bound fields for run time.
"""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

OPTIMIZERS: tuple[str, ...] = (
    "adamw_torch", "adamw_torch_fused", "adamw_8bit", "adamw_bnb_8bit",
    "adafactor", "lomo", "galore_adamw", "galore_adamw_8bit",
    "grokadamw", "stableadamw", "schedule_free_radamw",
    "sgd", "adagrad", "rmsprop",
)
# The seed's names that transformers spells differently.
OPTIMIZER_ALIASES: dict[str, str] = {
    "schedule_free_radamw": "schedule_free_radam",
    "stableadamw": "stable_adamw",
}
LR_SCHEDULERS: tuple[str, ...] = (
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
    "constant_with_warmup", "inverse_sqrt", "reduce_lr_on_plateau",
    "cosine_with_min_lr", "warmup_stable_decay",
)
QUANTIZATIONS: tuple[str, ...] = ("nf4", "int4", "int8")
COMPUTE_DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16")
LORA_BIASES: tuple[str, ...] = ("none", "all", "lora_only")
DATASET_LOADERS: tuple[str, ...] = ("json", "jsonl", "csv", "parquet", "text")
DATASET_METHODS: tuple[str, ...] = ("load", "concat", "select", "filter", "map")
WHERE_OPERATORS: tuple[str, ...] = (
    "eq", "neq", "gt", "gte", "lt", "lte", "in", "not-in", "starts-with", "ends-with", "match",
)


# How a field names a file or folder (see :func:`path_fields`): the engine and the runner
# keep every such field inside the workspace.
PathKind = Literal["read", "write", "read-or-hub", "read-or-inline"]
PATH_KINDS: tuple[str, ...] = ("read", "write", "read-or-hub", "read-or-inline")


def _path(kind: PathKind, default: Any = None, *, evaluated: bool = False) -> Any:
    """A field that names a file or folder: ``read`` (must exist when the job starts),
    ``write`` (may be new), ``read-or-hub`` (a local folder, or else a hub id) or
    ``read-or-inline`` (a file, unless the value is itself the text: a Jinja template)."""
    extra: dict[str, Any] = {"path": kind}
    if evaluated:
        extra["evaluated"] = True
    return Field(default=default, json_schema_extra=extra)


def _evaluated() -> Any:
    """A field the job evaluates (an expression, a template) into values it stores and
    shows: it may not read ``${env.*}``, so no secret can be transformed past redaction."""
    return Field(default=None, json_schema_extra={"evaluated": True})


def evaluated_fields(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(name for name, info in model.model_fields.items()
                 if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("evaluated"))


def path_fields(model: type[BaseModel]) -> dict[str, PathKind]:
    """Field name -> path kind of every path-valued field of a component model."""
    out: dict[str, PathKind] = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("path") in PATH_KINDS:
            out[name] = extra["path"]  # type: ignore[assignment]
    return out


def is_inline_text(value: str) -> bool:
    """A ``read-or-inline`` value that is the text itself (Jinja), not a file name."""
    return "{%" in value or "{{" in value


def _number_from_string(value: Any) -> Any:
    """PyYAML reads 5e-5 (no dot) as a string; numeric fields accept it."""
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- datasets -------------------------------------------------------------------

class WhereCondition(_Model):
    """One node of the nested dialect's ``where`` tree: a leaf comparison or all/any/not."""

    column: Optional[str] = None
    operator: Optional[Literal[WHERE_OPERATORS]] = None  # type: ignore[valid-type]
    value: Any = None
    all: Optional[list["WhereCondition"]] = None
    any: Optional[list["WhereCondition"]] = None
    not_: Optional["WhereCondition"] = Field(default=None, alias="not")


class DatasetsComponent(_Model):
    """``type: datasets``. ``method`` picks the operation; the rest are its fields.

    A component may leave ``method`` unset and let each job pick it (seed: the job's
    ``method:``); it then defaults to ``load``.
    """

    id: str
    type: Literal["datasets"] = "datasets"
    method: Literal[DATASET_METHODS] = "load"  # type: ignore[valid-type]

    # load
    provider: Optional[Literal["huggingface", "local"]] = None  # derived from loader when absent
    path: Optional[str] = _path("read-or-hub")
    name: Optional[str] = None
    split: Optional[str] = None
    revision: Optional[str] = None
    token: Optional[str] = None
    trust_remote_code: bool = False
    streaming: bool = False
    cache_dir: Optional[str] = _path("write")
    shuffle: bool = False
    fraction: float = Field(default=1.0, gt=0, le=1)
    seed: int = 42
    loader: Optional[Literal[DATASET_LOADERS]] = None  # type: ignore[valid-type]
    data_files: Union[str, list[str], dict[str, Union[str, list[str]]], None] = _path("read")
    data_dir: Optional[str] = _path("read")

    _numeric_string = field_validator("fraction", "seed", mode="before")(_number_from_string)

    # concat
    datasets: Optional[list[Any]] = None  # dataset references
    direction: Literal["vertical", "horizontal"] = "vertical"

    # select
    dataset: Any = None  # a dataset reference (select, filter, map)
    axis: Literal["rows", "columns"] = "rows"
    indices: Optional[list[int]] = None
    columns: Optional[list[str]] = None

    # filter
    condition: Optional[str] = _evaluated()
    where: Optional[WhereCondition] = _evaluated()

    # map
    template: Optional[str] = _evaluated()
    output_column: str = "text"
    remove_columns: Optional[list[str]] = None


# --- model-trainer ----------------------------------------------------------------

class ResourceSpec(_Model):
    gpus: int = Field(default=0, ge=0)
    # How a multi-process job starts: torchrun (default) or accelerate.
    launcher: Literal["torchrun", "accelerate"] = "torchrun"
    # Processes when no GPUs are asked for (CPU data-parallel over gloo).
    processes: Optional[int] = Field(default=None, ge=1)


class TrainerComponent(_Model):
    """``type: model-trainer`` (SPEC §6). Fields group as the seed's sections do."""

    id: str
    type: Literal["model-trainer"] = "model-trainer"
    task: Literal["sft", "classification"]

    # model
    model: Optional[str] = _path("read-or-hub")
    tokenizer: Optional[str] = _path("read-or-hub")
    chat_template: Optional[str] = _path("read-or-inline", evaluated=True)

    # data
    dataset: Any = None
    eval_dataset: Any = None
    text_column: Optional[str] = None  # classification defaults to "text"
    prompt_column: Optional[str] = None
    response_column: Optional[str] = None
    system_column: Optional[str] = None
    text_pair_column: Optional[str] = None
    label_column: str = "label"
    max_seq_length: int = Field(default=1024, ge=1)
    packing: bool = False

    # learning rate and batch
    learning_rate: float = Field(default=5e-5, gt=0)
    per_device_train_batch_size: int = Field(default=8, ge=1)
    per_device_eval_batch_size: int = Field(default=8, ge=1)
    num_epochs: float = Field(default=3, gt=0)
    max_steps: int = -1  # > 0 overrides num_epochs

    # optimizer
    optimizer: Literal[OPTIMIZERS] = "adamw_torch"  # type: ignore[valid-type]
    optimizer_args: Optional[dict[str, Any]] = None
    optim_target_modules: Optional[list[str]] = None  # galore_*: defaults to attention + MLP

    # scheduler
    lr_scheduler_type: Literal[LR_SCHEDULERS] = "linear"  # type: ignore[valid-type]
    lr_scheduler_kwargs: Optional[dict[str, Any]] = None
    warmup_steps: int = Field(default=0, ge=0)

    # optimization
    weight_decay: float = Field(default=0.0, ge=0)
    max_grad_norm: float = Field(default=1.0, ge=0)
    gradient_accumulation_steps: int = Field(default=1, ge=1)

    # evaluation and saving
    eval_steps: Optional[int] = Field(default=None, ge=1)
    save_steps: Optional[int] = Field(default=500, ge=1)
    logging_steps: int = Field(default=10, ge=1)

    # memory
    gradient_checkpointing: bool = False
    fp16: bool = False
    bf16: bool = False

    # reproducibility
    seed: int = 42

    # output
    output_dir: str = _path("write", "./output")
    resume_from_checkpoint: Optional[str] = _path("read")  # a path, or "latest"

    # LoRA
    peft_adapter: Optional[Literal["lora"]] = None
    lora_r: Optional[int] = Field(default=None, ge=1)  # 8 when peft_adapter: lora
    lora_alpha: Optional[float] = Field(default=None, gt=0)  # 16 when peft_adapter: lora
    lora_dropout: Optional[float] = Field(default=None, ge=0, lt=1)  # 0.05
    lora_target_modules: Optional[Union[list[str], str]] = None  # None: the model's attention
    lora_bias: Optional[Literal[LORA_BIASES]] = None  # type: ignore[valid-type]

    # quantization (QLoRA)
    quantization: Optional[Literal[QUANTIZATIONS]] = None  # type: ignore[valid-type]
    bnb_4bit_compute_dtype: Optional[Literal[COMPUTE_DTYPES]] = None  # type: ignore[valid-type]
    bnb_4bit_use_double_quant: Optional[bool] = None

    # processes
    resources: ResourceSpec = Field(default_factory=ResourceSpec)

    _numeric_string = field_validator(
        "learning_rate", "weight_decay", "max_grad_norm", "num_epochs", "max_seq_length",
        "per_device_train_batch_size", "per_device_eval_batch_size", "max_steps", "warmup_steps",
        "gradient_accumulation_steps", "eval_steps", "save_steps", "logging_steps", "seed",
        "lora_r", "lora_alpha", "lora_dropout", mode="before")(_number_from_string)

    @model_validator(mode="after")
    def _consistent(self) -> "TrainerComponent":
        problems = trainer_problems(self)
        if problems:
            raise ValueError("; ".join(message for _, message in problems))
        return self

    # Values the runner uses when the matching field is None.
    @property
    def effective_text_column(self) -> Optional[str]:
        if self.text_column:
            return self.text_column
        return "text" if self.task == "classification" or not self.prompt_column else None

    @property
    def effective_lora(self) -> dict[str, Any]:
        return {
            "r": self.lora_r or 8,
            "alpha": self.lora_alpha or 16,
            "dropout": 0.05 if self.lora_dropout is None else self.lora_dropout,
            "target_modules": self.lora_target_modules,
            "bias": self.lora_bias or "none",
        }


LORA_FIELDS: tuple[str, ...] = ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "lora_bias")
QUANT_DETAIL_FIELDS: tuple[str, ...] = ("bnb_4bit_compute_dtype", "bnb_4bit_use_double_quant")


def trainer_problems(t: TrainerComponent) -> list[tuple[str, str]]:
    """Cross-field rules of SPEC §2 and §6, as (field, message) pairs."""
    out: list[tuple[str, str]] = []
    if t.peft_adapter != "lora":
        for name in LORA_FIELDS:
            if getattr(t, name) is not None:
                out.append((name, f"{name} has no effect without LoRA: set peft_adapter: lora"))
    if t.quantization and t.peft_adapter != "lora":
        out.append(("quantization", "quantized weights cannot be fully fine-tuned: set peft_adapter: lora "
                                    "(QLoRA) or remove quantization"))
    if not t.quantization:
        for name in QUANT_DETAIL_FIELDS:
            if getattr(t, name) is not None:
                out.append((name, f"{name} needs quantization: nf4 or int4"))
    elif t.quantization == "int8" and t.bnb_4bit_compute_dtype is not None:
        out.append(("bnb_4bit_compute_dtype", "bnb_4bit_compute_dtype applies to 4-bit quantization "
                                              "(nf4, int4), not int8"))
    if t.task == "sft":
        if t.text_column and (t.prompt_column or t.response_column):
            out.append(("text_column", "give either text_column or prompt_column + response_column, not both"))
        if bool(t.prompt_column) != bool(t.response_column):
            missing = "response_column" if t.prompt_column else "prompt_column"
            out.append((missing, "prompt_column and response_column go together: set both"))
        if t.system_column and not t.prompt_column:
            out.append(("system_column", "system_column needs prompt_column + response_column"))
        if t.text_pair_column:
            out.append(("text_pair_column", "text_pair_column is for task: classification"))
    else:
        for name in ("prompt_column", "response_column", "system_column"):
            if getattr(t, name):
                out.append((name, f"{name} is for task: sft; classification reads text_column "
                                  "(+ text_pair_column) and label_column"))
        if t.packing:
            out.append(("packing", "packing is for task: sft"))
    return out


def trainer_warnings(t: TrainerComponent) -> list[tuple[str, str]]:
    """Settings that run but probably are not what the user meant, as (field, message)."""
    out: list[tuple[str, str]] = []
    if t.fp16 and t.bf16:
        # The seed's memory example lists both as alternatives; the run uses bf16 where
        # the device supports it, else fp16.
        out.append(("bf16", "fp16 and bf16 are both set: bf16 is used where the device supports it, "
                            "else fp16; keep one"))
    return out


Component = Union[DatasetsComponent, TrainerComponent]
COMPONENT_TYPES: dict[str, type[_Model]] = {
    "datasets": DatasetsComponent,
    "model-trainer": TrainerComponent,
}
