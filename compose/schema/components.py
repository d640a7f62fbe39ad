"""Canonical models of the components a compose file defines (SPEC §5-6).

These are the *resolved* shapes: every ``${...}`` binding already replaced. Field
names are the seed (flat) dialect's; the nested dialect is normalized into them on
load. Defaults live here and nowhere else. The document-level loader validates
literal fields against these models and leaves bound fields for run time.
"""
from __future__ import annotations

import typing
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

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
# The fields each datasets operation reads; a field of another operation has no effect.
DATASET_METHOD_FIELDS: dict[str, frozenset[str]] = {
    "load": frozenset({"provider", "path", "name", "split", "revision", "token", "trust_remote_code",
                       "streaming", "cache_dir", "shuffle", "fraction", "seed", "loader",
                       "data_files", "data_dir"}),
    "concat": frozenset({"datasets", "direction"}),
    "select": frozenset({"dataset", "axis", "indices", "columns"}),
    "filter": frozenset({"dataset", "condition", "where"}),
    "map": frozenset({"dataset", "template", "output_column", "remove_columns"}),
}
ANY_METHOD_FIELD: frozenset[str] = frozenset().union(*DATASET_METHOD_FIELDS.values())
# Load fields that only a hub load reads (a revision, a token, a builder config name,
# permission to run the repository's code).
HUB_ONLY_FIELDS: tuple[str, ...] = ("revision", "token", "name", "trust_remote_code")
# What causal LMs call their output layer: TRL computes the loss from its weight directly,
# so LoRA cannot adapt it; listed in lora_target_modules it is trained in full instead.
OUTPUT_LAYER_NAMES: tuple[str, ...] = ("lm_head",)
# Optimizer -> the optimizer_args keys transformers passes on to it (its
# trainer_optimizer.py handlers); it ignores any other key.
_GALORE_ARGS = ("rank", "update_proj_gap", "scale", "proj_type")
OPTIMIZER_ARGS: dict[str, tuple[str, ...]] = {
    "adamw_torch": (), "adamw_torch_fused": (), "adamw_8bit": (), "adamw_bnb_8bit": (),
    "adafactor": (), "lomo": (),
    "galore_adamw": _GALORE_ARGS, "galore_adamw_8bit": _GALORE_ARGS,
    "grokadamw": ("alpha_init", "lamb", "gamma", "grokking_signal_decay_rate", "gradient_clipping"),
    "stableadamw": ("max_lr", "kahan_sum", "decouple_lr"),
    "schedule_free_radamw": ("weight_lr_power", "r"),
    "sgd": ("momentum", "dampening", "weight_decay", "nesterov"),
    "adagrad": ("lr_decay", "weight_decay", "eps"),
    "rmsprop": ("momentum", "alpha", "eps", "weight_decay", "centered"),
}


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


def nested_path_fields(model: type[BaseModel], _seen: frozenset[type] = frozenset()) -> dict[str, PathKind]:
    """Path-valued fields inside a field's object or list form, as dotted keys.

    ``peft_adapters[].model`` is each adapter's ``model``; ``model.path`` the ``path`` of
    ``model``'s object form. The top-level fields themselves are :func:`path_fields`'.
    """
    out: dict[str, PathKind] = {}
    for name, info in model.model_fields.items():
        for inner, many in _nested_models(info.annotation):
            if inner in _seen or inner is model:
                continue  # a recursive model (where's all/any/not)
            prefix = f"{name}[]" if many else name
            for sub, kind in path_fields(inner).items():
                out[f"{prefix}.{sub}"] = kind
            for sub, kind in nested_path_fields(inner, _seen | {model}).items():
                out[f"{prefix}.{sub}"] = kind
    return out


def _nested_models(annotation: Any, many: bool = False) -> list[tuple[type[BaseModel], bool]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, many)]
    is_list = typing.get_origin(annotation) is list
    return [found for arg in typing.get_args(annotation) for found in _nested_models(arg, many or is_list)]


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

    @model_validator(mode="after")
    def _consistent(self) -> "DatasetsComponent":
        problems = datasets_problems(self)
        if problems:
            raise ValueError("; ".join(message for _, message in problems))
        return self


def _is_set(model: BaseModel, name: str) -> bool:
    """Given in the file (a binding counts), not left to its default."""
    return name in model.model_fields_set


def known_local_load(d: "DatasetsComponent") -> bool:
    """A load of files on disk, as far as the literal fields tell (a path a binding fills
    or a hub-like ``org/name`` that exists as a folder is only known at run time)."""
    if d.provider == "local" or d.loader:
        return True
    if isinstance(d.path, str) and not _bound(d.path):
        return d.path in DATASET_LOADERS or d.path.startswith((".", "/", "~"))
    return d.path is None and (d.data_files is not None or d.data_dir is not None)


def _bound(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def datasets_problems(d: "DatasetsComponent") -> list[tuple[str, str]]:
    """Contradictions in a datasets component, as (field, message) pairs."""
    out: list[tuple[str, str]] = []
    if (d.method == "load" and known_local_load(d) and d.path not in DATASET_LOADERS
            and d.path is not None and d.data_dir is not None):
        out.append(("data_dir", "a local load reads one folder: give path or data_dir, not both"))
    return out


def datasets_warnings(d: "DatasetsComponent", final: bool = False) -> list[tuple[str, str]]:
    """Fields a datasets component sets that its operation does not read, as (field, message).

    Only fields the file gives count (``model_fields_set``). A component without its
    own ``method`` may be shared by jobs that each pick one, so its fields of other
    operations are expected. ``final``: ``d`` is what a job runs (the component's fields
    with the job's input over them), so an unset ``axis`` is the default ``rows``.
    """
    out: list[tuple[str, str]] = []
    explicit = _is_set(d, "method") and not _bound(d.method)
    method = d.method if explicit else None
    if method in DATASET_METHOD_FIELDS:
        for name in sorted(ANY_METHOD_FIELD - DATASET_METHOD_FIELDS[method]):
            if _is_set(d, name):
                owners = [m for m, names in DATASET_METHOD_FIELDS.items() if name in names]
                out.append((name, f"{name} has no effect on a {method} component (only "
                                  f"{' and '.join(owners)} read{'s' if len(owners) == 1 else ''} it)"))
    if method in (None, "select") and (_is_set(d, "axis") or (final and method == "select")):
        if d.axis == "rows" and _is_set(d, "columns"):
            axis = "axis: rows" if _is_set(d, "axis") else "axis: rows (the default)"
            out.append(("columns", f"columns has no effect with {axis}, which keeps the rows listed in "
                                   "indices; set axis: columns to keep columns"))
        if d.axis == "columns" and _is_set(d, "indices"):
            out.append(("indices", "indices has no effect with axis: columns, which keeps the columns listed "
                                   "in columns; set axis: rows to keep rows"))
    if method in (None, "load"):
        if known_local_load(d):
            for name in HUB_ONLY_FIELDS:
                if _is_set(d, name) and getattr(d, name) not in (None, False):
                    out.append((name, f"{name} has no effect on a load of local files (it is passed to the "
                                      "Hugging Face Hub only)"))
        if _is_set(d, "seed") and d.shuffle is False:
            out.append(("seed", "seed has no effect without shuffle: true (it only orders the shuffle)"))
    return out


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
    targets = t.lora_target_modules
    if t.peft_adapter == "lora" and isinstance(targets, list):
        heads = [name for name in targets if name in OUTPUT_LAYER_NAMES]
        if heads and t.task == "classification":
            out.append(("lora_target_modules", f"{heads[0]} is the output layer of a causal LM (task: sft); a "
                                                "classifier has none, and its new classification head is "
                                                "trained in full already: remove it"))
        elif heads and len(heads) == len(targets):
            out.append(("lora_target_modules", f"{heads[0]} alone leaves LoRA nothing to adapt ({heads[0]} is "
                                                "trained in full, not through LoRA): add the layers to adapt, "
                                                "e.g. q_proj, v_proj"))
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
    out += _lora_warnings(t)
    out += _schedule_warnings(t)
    out += _optimizer_warnings(t)
    out += _task_warnings(t)
    out += _resource_warnings(t)
    return out


def _lora_warnings(t: TrainerComponent) -> list[tuple[str, str]]:
    targets = t.lora_target_modules
    if t.peft_adapter != "lora" or t.task != "sft" or not isinstance(targets, list):
        return []
    heads = [name for name in targets if name in OUTPUT_LAYER_NAMES]
    if not heads or len(heads) == len(targets):
        return []  # none, or an error (trainer_problems)
    return [("lora_target_modules", f"{heads[0]} is trained in full beside the LoRA adapter (PEFT's "
                                    "modules_to_save), not through LoRA: TRL computes the loss from its weight "
                                    "directly. The adapter folder then holds a full copy of it "
                                    "(vocabulary x hidden size)")]


def _schedule_warnings(t: TrainerComponent) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    kwargs = t.lr_scheduler_kwargs
    if t.lr_scheduler_type == "cosine_with_restarts" and (kwargs is None or (
            isinstance(kwargs, dict) and "num_cycles" not in kwargs)):
        out.append(("lr_scheduler_type", "cosine_with_restarts without lr_scheduler_kwargs: {num_cycles: N} runs "
                                         "one cycle and never restarts, the same as cosine: set num_cycles "
                                         "(e.g. 3)"))
    if isinstance(t.warmup_steps, int) and t.warmup_steps > 0:
        if t.lr_scheduler_type == "constant":
            out.append(("warmup_steps", "warmup_steps has no effect with lr_scheduler_type: constant, which is "
                                        "flat from the first step: use constant_with_warmup"))
        elif t.lr_scheduler_type == "reduce_lr_on_plateau":
            out.append(("warmup_steps", "warmup_steps has no effect with reduce_lr_on_plateau, which has no "
                                        "warmup in transformers: the rate starts at learning_rate"))
    return out


def _optimizer_warnings(t: TrainerComponent) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    reads = OPTIMIZER_ARGS.get(t.optimizer)
    if isinstance(t.optimizer_args, dict) and reads is not None:
        ignored = [key for key in t.optimizer_args if key not in reads]
        if ignored:
            takes = f"it reads {', '.join(reads)}" if reads else "it reads none"
            out.append(("optimizer_args", f"{', '.join(ignored)} has no effect with optimizer {t.optimizer} "
                                          f"({takes})"))
    if t.optim_target_modules is not None and t.optimizer in OPTIMIZERS and not t.optimizer.startswith("galore_"):
        out.append(("optim_target_modules", f"optim_target_modules has no effect with optimizer {t.optimizer}: "
                                            "only galore_adamw and galore_adamw_8bit read it"))
    if t.optimizer == "lomo":
        # LOMO updates each weight inside the backward pass and keeps no gradients.
        if _is_set(t, "max_grad_norm"):
            out.append(("max_grad_norm", "max_grad_norm has no effect with lomo: it updates each weight during "
                                         "the backward pass, so there are no gradients left to clip"))
        if isinstance(t.gradient_accumulation_steps, int) and t.gradient_accumulation_steps > 1:
            out.append(("gradient_accumulation_steps", "lomo updates the weights at every micro-batch (it "
                                                       "keeps no gradients to accumulate): "
                                                       "gradient_accumulation_steps only divides each update"))
        if isinstance(t.weight_decay, (int, float)) and t.weight_decay > 0:
            out.append(("weight_decay", "weight_decay has no effect with lomo (transformers does not pass it on)"))
    return out


def _task_warnings(t: TrainerComponent) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if t.task == "sft" and _is_set(t, "label_column"):
        out.append(("label_column", "label_column has no effect with task: sft (it names classification labels)"))
    if t.task == "classification" and t.chat_template is not None:
        out.append(("chat_template", "chat_template has no effect on classification training (it is only "
                                     "saved with the tokenizer)"))
    return out


def _resource_warnings(t: TrainerComponent) -> list[tuple[str, str]]:
    r = t.resources
    if not isinstance(r, ResourceSpec):
        return []
    gpus, processes = r.gpus, r.processes
    if not isinstance(gpus, int) or not (processes is None or isinstance(processes, int)):
        return []
    out: list[tuple[str, str]] = []
    if gpus >= 1 and processes is not None:
        out.append(("resources", "resources.processes has no effect with gpus (one process runs per GPU): "
                                 "it is for CPU jobs, gpus: 0"))
    several = gpus >= 2 or (gpus == 0 and (processes or 1) >= 2)
    if _is_set(r, "launcher") and not several:
        out.append(("resources", "resources.launcher has no effect: the job runs one process (it starts "
                                 "several with gpus: N >= 2, or processes: N >= 2 and gpus: 0)"))
    return out





# --- model (inference) ------------------------------------------------------------

MODEL_TASKS: tuple[str, ...] = ("text-generation", "chat-completion", "text-classification")
# model-compose's other model tasks: refused by name, never run as something else.
OTHER_MODEL_TASKS: tuple[str, ...] = (
    "text-embedding", "text-reranking", "summarization", "translation", "question-answering",
    "image-to-text", "image-classification", "image-segmentation", "image-generation", "image-upscale",
    "face-embedding", "text-to-speech", "speech-to-text", "object-detection", "visual-question-answering",
)
PRECISIONS: tuple[str, ...] = ("auto", "float32", "float16", "bfloat16")
MODEL_QUANTIZATIONS: tuple[str, ...] = ("int8", "int4", "fp4", "nf4")
# The generation settings only sampling reads: with do_sample false (greedy or beams)
# transformers ignores them.
SAMPLING_FIELDS: tuple[str, ...] = ("temperature", "top_p", "top_k")
GENERATION_TASKS: tuple[str, ...] = ("text-generation", "chat-completion")


def _refuse_other_task(value: Any) -> Any:
    if value in OTHER_MODEL_TASKS:
        raise ValueError(f"task {value} is not supported here (compose-web runs {', '.join(MODEL_TASKS)})")
    return value


def _check_device(value: Optional[str]) -> Optional[str]:
    if value is None or _bound(value):
        return value
    head, _, index = value.partition(":")
    if (head == "cpu" and not index) or (head == "cuda" and (not index or index.isdigit())):
        return value
    raise ValueError(f"device {value!r}: use cpu, cuda or cuda:N")


class ModelSource(_Model):
    """The object form of ``model``: ``{provider: huggingface, repository, revision}`` or
    ``{provider: local, path}``."""

    provider: Literal["huggingface", "local"]
    repository: Optional[str] = _path("read-or-hub")
    revision: Optional[str] = None
    path: Optional[str] = _path("read")

    @model_validator(mode="after")
    def _consistent(self) -> "ModelSource":
        if self.provider == "local":
            if not self.path:
                raise ValueError("provider: local needs path: (the model's folder)")
            if self.repository is not None or self.revision is not None:
                raise ValueError("repository and revision are for provider: huggingface; "
                                 "a local model is read from path")
        else:
            if not self.repository:
                raise ValueError("provider: huggingface needs repository: (a hub id such as org/name)")
            if self.path is not None:
                raise ValueError("path is for provider: local; a hub model is named by repository")
        return self


ModelValue = Union[str, ModelSource]


class PeftAdapterSpec(_Model):
    """One entry of ``peft_adapters``: a LoRA adapter folder and the weight it is applied with."""

    type: Literal["lora"] = "lora"
    name: Optional[str] = None  # "adapter<N>" when not given
    model: ModelValue = _path("read-or-hub")
    weight: float = Field(default=1.0, ge=0, le=1)

    _numeric_string = field_validator("weight", mode="before")(_number_from_string)


class ModelComponent(_Model):
    """``type: model`` (SPEC §7): run a local model over one input or every row of a data set.

    The seed dialect writes every field at the top level; model-compose's own (nested)
    form keeps ``prompt``/``messages``/``text`` under ``action:`` and the generation
    settings under ``action.params``. ``prompt``, ``messages`` and ``text`` are
    ``{column}`` templates when ``dataset`` is given (one answer per row).
    """

    id: str
    type: Literal["model"] = "model"
    task: Annotated[Literal[MODEL_TASKS], BeforeValidator(_refuse_other_task)]  # type: ignore[valid-type]

    model: Optional[ModelValue] = _path("read-or-hub")
    peft_adapters: Optional[list[PeftAdapterSpec]] = None
    precision: Literal[PRECISIONS] = "auto"  # type: ignore[valid-type]
    quantization: Optional[Literal[MODEL_QUANTIZATIONS]] = None  # type: ignore[valid-type]
    # cpu, cuda, cuda:N; None: the first GPU when there is one
    device: Annotated[Optional[str], AfterValidator(_check_device)] = None
    max_seq_length: int = Field(default=2048, ge=1)

    # input
    dataset: Any = None  # a data set reference: one answer per row
    prompt: Optional[str] = _evaluated()
    messages: Optional[list[dict[str, Any]]] = _evaluated()
    text: Optional[str] = _evaluated()
    batch_size: int = Field(default=8, ge=1)

    # generation
    max_output_length: int = Field(default=1024, ge=1)
    num_return_sequences: int = Field(default=1, ge=1)
    stop_sequences: Optional[list[str]] = None
    do_sample: bool = False
    temperature: float = Field(default=1.0, gt=0)
    top_p: float = Field(default=0.9, gt=0, le=1)
    top_k: int = Field(default=50, ge=0)
    num_beams: int = Field(default=1, ge=1)

    _numeric_string = field_validator(
        "max_seq_length", "batch_size", "max_output_length", "num_return_sequences", "temperature",
        "top_p", "top_k", "num_beams", mode="before")(_number_from_string)

    @model_validator(mode="after")
    def _consistent(self) -> "ModelComponent":
        problems = model_problems(self)
        if problems:
            raise ValueError("; ".join(message for _, message in problems))
        return self


# The input field each task reads.
MODEL_INPUT_FIELD: dict[str, str] = {
    "text-generation": "prompt", "chat-completion": "messages", "text-classification": "text",
}
GENERATION_FIELDS: tuple[str, ...] = (
    "max_output_length", "num_return_sequences", "stop_sequences", "do_sample", "temperature", "top_p",
    "top_k", "num_beams",
)


def model_problems(m: "ModelComponent") -> list[tuple[str, str]]:
    """Cross-field rules of a model component, as (field, message) pairs."""
    out: list[tuple[str, str]] = []
    task = m.task
    if m.model is None:
        out.append(("model", "model is required: a local folder or a hub id"))
    wanted = MODEL_INPUT_FIELD.get(task)
    for name in ("prompt", "messages", "text"):
        if name != wanted and getattr(m, name, None) is not None:
            out.append((name, f"{name} is not read by task {task}, which reads {wanted}"))
    if wanted and getattr(m, wanted, None) is None:
        out.append((wanted, f"task {task} needs {wanted}:"))
    if task == "text-classification":
        for name in GENERATION_FIELDS:
            # Compared with the default, not "given": the job's config holds every field.
            if getattr(m, name, None) != type(m).model_fields[name].default:
                out.append((name, f"{name} is a generation setting; task text-classification does not "
                                  "generate"))
    if isinstance(m.messages, list):
        for index, message in enumerate(m.messages):
            if not isinstance(message, dict) or set(message) - {"role", "content"} or "content" not in message:
                out.append(("messages", f"messages[{index}]: expected {{role, content}}"))
    adapters = m.peft_adapters or []
    names = [a.name or f"adapter{i}" for i, a in enumerate(adapters) if isinstance(a, PeftAdapterSpec)]
    for name in sorted({n for n in names if names.count(n) > 1}):
        out.append(("peft_adapters", f"adapter name {name} is used twice; give each adapter its own name"))
    if isinstance(m.num_beams, int) and isinstance(m.num_return_sequences, int) \
            and m.do_sample is False and m.num_return_sequences > m.num_beams:
        out.append(("num_return_sequences", "greedy search returns one sequence: set do_sample: true or "
                                            "num_beams >= num_return_sequences"))
    return out


def model_warnings(m: "ModelComponent") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if m.do_sample is False and m.task in GENERATION_TASKS:
        for name in SAMPLING_FIELDS:
            if _is_set(m, name):
                out.append((name, f"{name} has no effect without do_sample: true (greedy and beam search "
                                  "do not sample)"))
    if _is_set(m, "batch_size") and m.dataset is None:
        out.append(("batch_size", "batch_size has no effect without dataset: (one input is one batch)"))
    return out


Component = Union[DatasetsComponent, TrainerComponent, ModelComponent]
COMPONENT_TYPES: dict[str, type[_Model]] = {
    "datasets": DatasetsComponent,
    "model-trainer": TrainerComponent,
    "model": ModelComponent,
}
