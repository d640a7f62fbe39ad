"""Canonical models of the components a compose file defines (SPEC §5-6).

These are the *resolved* shapes: every ``${...}`` binding already replaced. Field
names are the seed (flat) dialect's; the nested dialect is normalized into them on
load. Defaults live here and nowhere else. The document-level loader validates
literal fields against these models and leaves bound fields for run time.
"""

from __future__ import annotations

import functools
import operator
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)

OPTIMIZERS: tuple[str, ...] = (
    "adamw_torch",
    "adamw_torch_fused",
    "adamw_8bit",
    "adamw_bnb_8bit",
    "adafactor",
    "lomo",
    "galore_adamw",
    "galore_adamw_8bit",
    "grokadamw",
    "stableadamw",
    "schedule_free_radamw",
    "sgd",
    "adagrad",
    "rmsprop",
)
# The seed's names that transformers spells differently.
OPTIMIZER_ALIASES: dict[str, str] = {
    "schedule_free_radamw": "schedule_free_radam",
    "stableadamw": "stable_adamw",
}
LR_SCHEDULERS: tuple[str, ...] = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "reduce_lr_on_plateau",
    "cosine_with_min_lr",
    "warmup_stable_decay",
)
QUANTIZATIONS: tuple[str, ...] = ("nf4", "int4", "int8")
COMPUTE_DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16")
LORA_BIASES: tuple[str, ...] = ("none", "all", "lora_only")
DATASET_LOADERS: tuple[str, ...] = ("json", "jsonl", "csv", "parquet", "text")
WHERE_OPERATORS: tuple[str, ...] = (
    "eq",
    "neq",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not-in",
    "starts-with",
    "ends-with",
    "match",
)
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
    "adamw_torch": (),
    "adamw_torch_fused": (),
    "adamw_8bit": (),
    "adamw_bnb_8bit": (),
    "adafactor": (),
    "lomo": (),
    "galore_adamw": _GALORE_ARGS,
    "galore_adamw_8bit": _GALORE_ARGS,
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


def _field(
    default: Any = None,
    *,
    help: str,
    group: str,
    unit: str | None = None,
    path: PathKind | None = None,
    evaluated: bool = False,
    essential: bool = False,
    **kwargs: Any,
) -> Any:
    """A component field and what the editor, the run form and the docs say about it.

    ``help`` is the one description of the field; ``group`` the editor's section; ``unit``
    what a number counts. ``path``: the field names a file or folder of that kind (``read``
    must exist when the job starts, ``write`` may be new, ``read-or-hub`` a local folder or
    else a hub id, ``read-or-inline`` a file unless the value is itself the text: a Jinja
    template). ``evaluated``: the job evaluates it (an expression, a template) into values
    it stores and shows, so it may not read ``${env.*}`` (no secret transformed past redaction).
    ``essential``: one of the few fields that say what a component does (its card shows them).
    """
    extra: dict[str, Any] = {"group": group}
    if essential:
        extra["essential"] = True
    if unit:
        extra["unit"] = unit
    if path:
        extra["path"] = path
    if evaluated:
        extra["evaluated"] = True
    if "default_factory" in kwargs:
        return Field(description=help, json_schema_extra=extra, **kwargs)
    return Field(default=default, description=help, json_schema_extra=extra, **kwargs)


def _essential(default: Any = None, **kwargs: Any) -> Any:
    """:func:`_field` for one of the few fields that say what a component does."""
    return _field(default, essential=True, **kwargs)


def field_extra(info: Any, key: str) -> Any:
    """One of :func:`_field`'s marks of a pydantic field (``group``, ``unit``, ``path``...)."""
    extra = getattr(info, "json_schema_extra", None)
    return extra.get(key) if isinstance(extra, dict) else None


def evaluated_fields(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(
        name
        for name, info in model.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("evaluated")
    )


def essential_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields marked ``essential``, in the model's order."""
    return tuple(name for name, info in model.model_fields.items() if field_extra(info, "essential"))


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


_METHOD_HELP = (
    "What the component does: load a data set, or concat/select/filter/map data sets. "
    "A job's method: may pick it instead."
)


# --- datasets -------------------------------------------------------------------


class WhereCondition(_Model):
    """One node of the nested dialect's ``where`` tree: a leaf comparison or all/any/not."""

    column: str | None = None
    operator: Literal[WHERE_OPERATORS] | None = None  # type: ignore[valid-type]
    value: Any = None
    all: list[WhereCondition] | None = None
    any: list[WhereCondition] | None = None
    not_: WhereCondition | None = Field(default=None, alias="not")


class _DatasetsBase(_Model):
    id: str = _field(..., help="The component's id; jobs name it in component:.", group="Component")
    type: Literal["datasets"] = _field("datasets", help="Always datasets.", group="Component")


class DatasetsLoad(_DatasetsBase):
    """``method: load``: a data set from the Hugging Face Hub or from files."""

    method: Literal["load"] = _essential("load", help=_METHOD_HELP, group="Operation")
    provider: Literal["huggingface", "local"] | None = _essential(
        help="huggingface (a hub id in path) or local (files; set loader). Unset: local when loader or "
        "files are given, else the hub.",
        group="Load from the hub",
    )
    path: str | None = _essential(
        help="Hub data set id, e.g. tatsu-lab/alpaca (or a builder name: json, csv...).",
        group="Load from the hub",
        path="read-or-hub",
    )
    name: str | None = _field(help="Hub configuration name.", group="Load from the hub")
    split: str | None = _essential(help="Split to load (default: train when present).", group="Load from the hub")
    revision: str | None = _field(help="Hub branch, tag or commit.", group="Load from the hub")
    token: str | None = _field(
        help="Hub token; use a binding such as ${env.HF_TOKEN}, never the token itself.", group="Load from the hub"
    )
    trust_remote_code: bool = _field(
        False,
        help="Run the data set's own loading script (only in admin-enabled workspaces).",
        group="Load from the hub",
    )
    streaming: bool = _field(
        False, help="Read rows lazily instead of downloading everything first.", group="Load from the hub"
    )
    cache_dir: str | None = _field(help="Folder for the hub cache.", group="Load from the hub", path="write")
    loader: Literal[DATASET_LOADERS] | None = _essential(  # type: ignore[valid-type]
        help="File format: json, jsonl, csv, parquet or text.", group="Load from files"
    )
    data_files: str | list[str] | dict[str, str | list[str]] | None = _essential(
        help="A path, a list of paths, or a mapping split -> paths (relative to the workspace).",
        group="Load from files",
        path="read",
    )
    data_dir: str | None = _field(
        help="A folder of data files (relative to the workspace).", group="Load from files", path="read"
    )
    shuffle: bool = _field(False, help="Shuffle (with seed) before taking a fraction.", group="Sampling")
    fraction: float = _essential(
        1.0, help="Keep this share of rows, in (0, 1]; ceil(rows × fraction) are kept.", group="Sampling", gt=0, le=1
    )
    seed: int = _field(42, help="Seed for shuffle.", group="Sampling")

    _numeric_string = field_validator("fraction", "seed", mode="before")(_number_from_string)

    @model_validator(mode="after")
    def _consistent(self) -> DatasetsLoad:
        _raise_problems(datasets_problems(self))
        return self


class DatasetsConcat(_DatasetsBase):
    """``method: concat``: data sets joined end to end, or side by side."""

    method: Literal["concat"] = _essential("concat", help=_METHOD_HELP, group="Operation")
    datasets: list[Any] | None = _essential(
        help="The data sets to join, e.g. [${jobs.a.output}, ${jobs.b.output}].", group="Concat"
    )
    direction: Literal["vertical", "horizontal"] = _field(
        "vertical", help="vertical appends rows; horizontal joins columns side by side.", group="Concat"
    )


_DATASET_INPUT_HELP = "The input data set, usually ${input.dataset} or ${jobs.load.output}."


class DatasetsSelect(_DatasetsBase):
    """``method: select``: rows by number, or columns by name."""

    method: Literal["select"] = _essential("select", help=_METHOD_HELP, group="Operation")
    dataset: Any = _essential(help=_DATASET_INPUT_HELP, group="Input")
    axis: Literal["rows", "columns"] = _field(
        "rows", help="Select rows by indices, or columns by name.", group="Select"
    )
    indices: list[int] | None = _essential(help="Row numbers to keep, e.g. 0, 1, 2.", group="Select")
    columns: list[str] | None = _essential(
        help="Column names to keep, e.g. instruction, input, output.", group="Select"
    )


class DatasetsFilter(_DatasetsBase):
    """``method: filter``: the rows a condition keeps."""

    method: Literal["filter"] = _essential("filter", help=_METHOD_HELP, group="Operation")
    dataset: Any = _essential(help=_DATASET_INPUT_HELP, group="Input")
    condition: str | None = _essential(
        help='Rows to keep, e.g. len(output) > 20 and input == "".', group="Filter", evaluated=True
    )
    where: WhereCondition | None = _field(
        help="Nested-dialect condition tree ({column, operator, value} or all/any/not).", group="Filter", evaluated=True
    )


class DatasetsMap(_DatasetsBase):
    """``method: map``: a column rendered from a template of the others."""

    method: Literal["map"] = _essential("map", help=_METHOD_HELP, group="Operation")
    dataset: Any = _essential(help=_DATASET_INPUT_HELP, group="Input")
    template: str | None = _essential(
        help="Text with {column} placeholders; {{ and }} write literal braces.", group="Map", evaluated=True
    )
    output_column: str = _field("text", help="Column that receives the rendered template.", group="Map")
    remove_columns: list[str] | None = _field(help="Columns to drop after mapping.", group="Map")


DatasetsOperation = DatasetsLoad | DatasetsConcat | DatasetsSelect | DatasetsFilter | DatasetsMap
# method -> the model of that operation: the only place that says which fields each reads.
DATASETS_OPERATIONS: dict[str, type[_DatasetsBase]] = {
    typing.get_args(op.model_fields["method"].annotation)[0]: op for op in typing.get_args(DatasetsOperation)
}
DATASET_METHODS: tuple[str, ...] = tuple(DATASETS_OPERATIONS)
DATASET_METHOD_FIELDS: dict[str, frozenset[str]] = {
    method: frozenset(op.model_fields) - {"id", "type", "method"} for method, op in DATASETS_OPERATIONS.items()
}
ANY_METHOD_FIELD: frozenset[str] = frozenset().union(*DATASET_METHOD_FIELDS.values())


def _raise_problems(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise ValueError("; ".join(message for _, message in problems))


# ``type: datasets`` as a document writes it: a component may leave ``method`` unset and
# let each job pick one (seed: the job's ``method:``), so it may hold the fields of several
# operations. It inherits every operation's fields (load's first); a job runs exactly one.
class DatasetsComponent(  # each base narrows method to its own; this widens it again
    DatasetsMap, DatasetsFilter, DatasetsSelect, DatasetsConcat, DatasetsLoad
):
    """``type: datasets`` with the fields of every operation; ``method`` (default load) picks one."""

    method: Literal[DATASET_METHODS] = _essential("load", help=_METHOD_HELP, group="Operation")  # type: ignore[valid-type]


def datasets_operation(method: str) -> type[_DatasetsBase]:
    """The model of one datasets operation; KeyError for an unknown method."""
    return DATASETS_OPERATIONS[method]


def _is_set(model: BaseModel, name: str) -> bool:
    """Given in the file (a binding counts), not left to its default."""
    return name in model.model_fields_set


def known_local_load(d: DatasetsLoad) -> bool:
    """A load of files on disk, as far as the literal fields tell (a path a binding fills
    or a hub-like ``org/name`` that exists as a folder is only known at run time)."""
    if d.provider == "local" or d.loader:
        return True
    if isinstance(d.path, str) and not _bound(d.path):
        return d.path in DATASET_LOADERS or d.path.startswith((".", "/", "~"))
    return d.path is None and (d.data_files is not None or d.data_dir is not None)


def _bound(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def datasets_problems(d: DatasetsLoad) -> list[tuple[str, str]]:
    """Contradictions in a datasets component, as (field, message) pairs."""
    out: list[tuple[str, str]] = []
    if (
        d.method == "load"
        and known_local_load(d)
        and d.path not in DATASET_LOADERS
        and d.path is not None
        and d.data_dir is not None
    ):
        out.append(("data_dir", "a local load reads one folder: give path or data_dir, not both"))
    return out


def datasets_warnings(d: DatasetsComponent, final: bool = False) -> list[tuple[str, str]]:
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
                out.append(
                    (
                        name,
                        f"{name} has no effect on a {method} component (only "
                        f"{' and '.join(owners)} read{'s' if len(owners) == 1 else ''} it)",
                    )
                )
    if method in (None, "select") and (_is_set(d, "axis") or (final and method == "select")):
        if d.axis == "rows" and _is_set(d, "columns"):
            axis = "axis: rows" if _is_set(d, "axis") else "axis: rows (the default)"
            out.append(
                (
                    "columns",
                    f"columns has no effect with {axis}, which keeps the rows listed in "
                    "indices; set axis: columns to keep columns",
                )
            )
        if d.axis == "columns" and _is_set(d, "indices"):
            out.append(
                (
                    "indices",
                    "indices has no effect with axis: columns, which keeps the columns listed "
                    "in columns; set axis: rows to keep rows",
                )
            )
    if method in (None, "load"):
        if known_local_load(d):
            for name in HUB_ONLY_FIELDS:
                if _is_set(d, name) and getattr(d, name) not in (None, False):
                    out.append(
                        (
                            name,
                            f"{name} has no effect on a load of local files (it is passed to the "
                            "Hugging Face Hub only)",
                        )
                    )
        if _is_set(d, "seed") and d.shuffle is False:
            out.append(("seed", "seed has no effect without shuffle: true (it only orders the shuffle)"))
    return out


# --- model-trainer ----------------------------------------------------------------


class ResourceSpec(_Model):
    gpus: int = _field(0, help="GPUs for this job (0: CPU).", group="Processes", unit="GPUs", ge=0)
    launcher: Literal["torchrun", "accelerate"] = _field(
        "torchrun", help="How several processes start: torchrun or accelerate.", group="Processes"
    )
    processes: int | None = _field(
        help="Processes when no GPU is asked for (CPU data parallel over gloo).",
        group="Processes",
        unit="processes",
        ge=1,
    )
    labels: list[str] | None = _field(
        help="Worker labels the job needs, e.g. [a100, nvme]: the server runs it only on a worker that has "
        "them all (COMPOSE_WORKER_LABELS).",
        group="Processes",
    )
    gpu_memory_gb: float | None = _field(
        help="Least memory of each GPU: the server runs it only on GPUs that have it, and the job fails "
        "before loading on GPUs with less.",
        group="Processes",
        unit="GB",
        gt=0,
    )

    _numeric_string = field_validator("gpus", "processes", "gpu_memory_gb", mode="before")(_number_from_string)


_MODEL = "Task and model"
_DATA = "Data set"
_RATE = "Learning rate and batch"
_OPTIM = "Optimizer"
_SCHED = "Scheduler"
_SAVE = "Evaluation and saving"
_MEMORY = "Memory"
_LORA = "LoRA"
_QUANT = "Quantization (QLoRA)"


class TrainerComponent(_Model):
    """``type: model-trainer`` (SPEC §6). Fields group as the seed's sections do."""

    id: str = _field(..., help="The component's id; jobs name it in component:.", group="Component")
    type: Literal["model-trainer"] = _field("model-trainer", help="Always model-trainer.", group="Component")
    task: Literal["sft", "classification"] = _essential(
        ...,
        help="sft trains a causal language model on text or prompt/response rows; classification trains "
        "a sequence classifier on text + label rows.",
        group=_MODEL,
    )

    model: str | None = _essential(
        help="Base model: a hub id or a folder under the workspace. Empty: the workspace's default model for the task.",
        group=_MODEL,
        path="read-or-hub",
    )
    tokenizer: str | None = _field(
        help="Tokenizer to load when it differs from the model's.", group=_MODEL, path="read-or-hub"
    )
    chat_template: str | None = _field(
        help="Jinja chat template used to render prompt/response rows (SFT).",
        group=_MODEL,
        path="read-or-inline",
        evaluated=True,
    )

    dataset: Any = _essential(
        help="Training data: usually a binding such as ${input.dataset} or ${jobs.prepare.output}.", group=_DATA
    )
    eval_dataset: Any = _field(
        help="Optional evaluation data; enables eval loss, perplexity, accuracy and F1.", group=_DATA
    )
    text_column: str | None = _essential(
        help="Column holding the whole text (SFT), or the text to classify (default: text).", group=_DATA
    )
    prompt_column: str | None = _essential(
        help="SFT: column with the prompt; the loss is computed on the response only.", group=_DATA
    )
    response_column: str | None = _essential(help="SFT: column with the expected response.", group=_DATA)
    system_column: str | None = _field(help="SFT: optional column with a system message.", group=_DATA)
    text_pair_column: str | None = _field(
        help="Classification: optional second text column (sentence pairs).", group=_DATA
    )
    label_column: str = _field("label", help="Classification: column holding the label.", group=_DATA)
    max_seq_length: int = _field(
        1024, help="Longest sequence; longer rows are truncated.", group=_DATA, unit="tokens", ge=1
    )
    packing: bool = _field(False, help="SFT: pack several short rows into one sequence.", group=_DATA)

    learning_rate: float = _essential(
        5e-5, help="Peak learning rate, e.g. 5e-5 (full fine-tune) or 2e-4 (LoRA).", group=_RATE, gt=0
    )
    per_device_train_batch_size: int = _field(
        8, help="Training rows per step on each device.", group=_RATE, unit="rows", ge=1
    )
    per_device_eval_batch_size: int = _field(
        8, help="Evaluation rows per step on each device.", group=_RATE, unit="rows", ge=1
    )
    num_epochs: float = _essential(3, help="Passes over the training data.", group=_RATE, unit="epochs", gt=0)
    max_steps: int = _essential(
        -1, help="When > 0, stop after this many optimizer steps (overrides num_epochs).", group=_RATE, unit="steps"
    )

    optimizer: Literal[OPTIMIZERS] = _field(  # type: ignore[valid-type]
        "adamw_torch", help="Optimizer name (adamw_torch is a safe default; 8-bit variants save memory).", group=_OPTIM
    )
    optimizer_args: dict[str, Any] | None = _field(
        help="Extra optimizer arguments as a mapping, e.g. {betas: [0.9, 0.95]}.", group=_OPTIM
    )
    optim_target_modules: list[str] | None = _field(
        help="GaLore: module names the optimizer projects (default: attention and MLP).", group=_OPTIM
    )

    lr_scheduler_type: Literal[LR_SCHEDULERS] = _field(  # type: ignore[valid-type]
        "linear", help="How the learning rate changes over training.", group=_SCHED
    )
    lr_scheduler_kwargs: dict[str, Any] | None = _field(
        help="Scheduler arguments, e.g. {min_lr_rate: 0.1} for cosine_with_min_lr.", group=_SCHED
    )
    warmup_steps: int = _field(
        0, help="Steps of linear warm-up from 0 to the learning rate.", group=_SCHED, unit="steps", ge=0
    )

    weight_decay: float = _field(0.0, help="L2 weight decay applied by the optimizer.", group=_OPTIM, ge=0)
    max_grad_norm: float = _field(
        1.0, help="Gradients are clipped to this norm (0 turns clipping off).", group=_OPTIM, ge=0
    )
    gradient_accumulation_steps: int = _field(
        1, help="Accumulate gradients over this many steps before an update.", group=_OPTIM, unit="steps", ge=1
    )

    eval_steps: int | None = _field(
        help="Evaluate every N steps (needs eval_dataset). Empty: at the end of each epoch.",
        group=_SAVE,
        unit="steps",
        ge=1,
    )
    save_steps: int | None = _field(500, help="Save a checkpoint every N steps.", group=_SAVE, unit="steps", ge=1)
    logging_steps: int = _field(
        10, help="Report loss, learning rate and throughput every N steps.", group=_SAVE, unit="steps", ge=1
    )

    gradient_checkpointing: bool = _field(
        False, help="Trade compute for memory by recomputing activations.", group=_MEMORY
    )
    fp16: bool = _field(False, help="Mixed precision in float16 (GPU).", group=_MEMORY)
    bf16: bool = _field(False, help="Mixed precision in bfloat16.", group=_MEMORY)

    seed: int = _field(42, help="Random seed for shuffling and initialisation.", group="Reproducibility")

    output_dir: str = _essential(
        "./output", help="Folder (under the workspace) for checkpoints and the final model.", group=_SAVE, path="write"
    )
    resume_from_checkpoint: str | None = _field(
        help="A checkpoint folder, or latest to continue from the newest one.", group=_SAVE, path="read"
    )

    peft_adapter: Literal["lora"] | None = _essential(
        help="lora trains a small adapter instead of every weight.", group=_LORA
    )
    lora_r: int | None = _essential(help="Adapter rank (8 when unset, with LoRA).", group=_LORA, ge=1)
    lora_alpha: float | None = _field(help="Adapter scaling (16 when unset, with LoRA).", group=_LORA, gt=0)
    lora_dropout: float | None = _field(
        help="Dropout on the adapter inputs (0.05 when unset).", group=_LORA, ge=0, lt=1
    )
    lora_target_modules: list[str] | str | None = _field(
        help="Module names to adapt, e.g. q_proj, v_proj (or all-linear); empty: the model's attention.", group=_LORA
    )
    lora_bias: Literal[LORA_BIASES] | None = _field(  # type: ignore[valid-type]
        help="Which biases to train alongside the adapter (none when unset).", group=_LORA
    )

    quantization: Literal[QUANTIZATIONS] | None = _essential(  # type: ignore[valid-type]
        help="Load the base model in 4 or 8 bits (needs LoRA: QLoRA).", group=_QUANT
    )
    bnb_4bit_compute_dtype: Literal[COMPUTE_DTYPES] | None = _field(  # type: ignore[valid-type]
        help="4-bit only: dtype the matmuls run in.", group=_QUANT
    )
    bnb_4bit_use_double_quant: bool | None = _field(
        help="4-bit only: quantize the quantization constants too.", group=_QUANT
    )

    resources: ResourceSpec = _field(
        help="What the job runs on: GPUs, processes and how they start.",
        group="Processes",
        default_factory=ResourceSpec,
    )

    _numeric_string = field_validator(
        "learning_rate",
        "weight_decay",
        "max_grad_norm",
        "num_epochs",
        "max_seq_length",
        "per_device_train_batch_size",
        "per_device_eval_batch_size",
        "max_steps",
        "warmup_steps",
        "gradient_accumulation_steps",
        "eval_steps",
        "save_steps",
        "logging_steps",
        "seed",
        "lora_r",
        "lora_alpha",
        "lora_dropout",
        mode="before",
    )(_number_from_string)

    @model_validator(mode="after")
    def _consistent(self) -> TrainerComponent:
        problems = trainer_problems(self)
        if problems:
            raise ValueError("; ".join(message for _, message in problems))
        return self

    # Values the runner uses when the matching field is None.
    @property
    def effective_text_column(self) -> str | None:
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
        out.append(
            (
                "quantization",
                "quantized weights cannot be fully fine-tuned: set peft_adapter: lora (QLoRA) or remove quantization",
            )
        )
    if not t.quantization:
        for name in QUANT_DETAIL_FIELDS:
            if getattr(t, name) is not None:
                out.append((name, f"{name} needs quantization: nf4 or int4"))
    elif t.quantization == "int8" and t.bnb_4bit_compute_dtype is not None:
        out.append(
            ("bnb_4bit_compute_dtype", "bnb_4bit_compute_dtype applies to 4-bit quantization (nf4, int4), not int8")
        )
    targets = t.lora_target_modules
    if t.peft_adapter == "lora" and isinstance(targets, list):
        heads = [name for name in targets if name in OUTPUT_LAYER_NAMES]
        if heads and t.task == "classification":
            out.append(
                (
                    "lora_target_modules",
                    f"{heads[0]} is the output layer of a causal LM (task: sft); a "
                    "classifier has none, and its new classification head is "
                    "trained in full already: remove it",
                )
            )
        elif heads and len(heads) == len(targets):
            out.append(
                (
                    "lora_target_modules",
                    f"{heads[0]} alone leaves LoRA nothing to adapt ({heads[0]} is "
                    "trained in full, not through LoRA): add the layers to adapt, "
                    "e.g. q_proj, v_proj",
                )
            )
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
                out.append(
                    (
                        name,
                        f"{name} is for task: sft; classification reads text_column "
                        "(+ text_pair_column) and label_column",
                    )
                )
        if t.packing:
            out.append(("packing", "packing is for task: sft"))
    return out


def trainer_warnings(t: TrainerComponent) -> list[tuple[str, str]]:
    """Settings that run but probably are not what the user meant, as (field, message)."""
    out: list[tuple[str, str]] = []
    if t.fp16 and t.bf16:
        # The seed's memory example lists both as alternatives; the run uses bf16 where
        # the device supports it, else fp16.
        out.append(
            ("bf16", "fp16 and bf16 are both set: bf16 is used where the device supports it, else fp16; keep one")
        )
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
    return [
        (
            "lora_target_modules",
            f"{heads[0]} is trained in full beside the LoRA adapter (PEFT's "
            "modules_to_save), not through LoRA: TRL computes the loss from its weight "
            "directly. The adapter folder then holds a full copy of it "
            "(vocabulary x hidden size)",
        )
    ]


def _schedule_warnings(t: TrainerComponent) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    kwargs = t.lr_scheduler_kwargs
    if t.lr_scheduler_type == "cosine_with_restarts" and (
        kwargs is None or (isinstance(kwargs, dict) and "num_cycles" not in kwargs)
    ):
        out.append(
            (
                "lr_scheduler_type",
                "cosine_with_restarts without lr_scheduler_kwargs: {num_cycles: N} runs "
                "one cycle and never restarts, the same as cosine: set num_cycles "
                "(e.g. 3)",
            )
        )
    if isinstance(t.warmup_steps, int) and t.warmup_steps > 0:
        if t.lr_scheduler_type == "constant":
            out.append(
                (
                    "warmup_steps",
                    "warmup_steps has no effect with lr_scheduler_type: constant, which is "
                    "flat from the first step: use constant_with_warmup",
                )
            )
        elif t.lr_scheduler_type == "reduce_lr_on_plateau":
            out.append(
                (
                    "warmup_steps",
                    "warmup_steps has no effect with reduce_lr_on_plateau, which has no "
                    "warmup in transformers: the rate starts at learning_rate",
                )
            )
    return out


def _optimizer_warnings(t: TrainerComponent) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    reads = OPTIMIZER_ARGS.get(t.optimizer)
    if isinstance(t.optimizer_args, dict) and reads is not None:
        ignored = [key for key in t.optimizer_args if key not in reads]
        if ignored:
            takes = f"it reads {', '.join(reads)}" if reads else "it reads none"
            out.append(("optimizer_args", f"{', '.join(ignored)} has no effect with optimizer {t.optimizer} ({takes})"))
    if t.optim_target_modules is not None and t.optimizer in OPTIMIZERS and not t.optimizer.startswith("galore_"):
        out.append(
            (
                "optim_target_modules",
                f"optim_target_modules has no effect with optimizer {t.optimizer}: "
                "only galore_adamw and galore_adamw_8bit read it",
            )
        )
    if t.optimizer == "lomo":
        # LOMO updates each weight inside the backward pass and keeps no gradients.
        if _is_set(t, "max_grad_norm"):
            out.append(
                (
                    "max_grad_norm",
                    "max_grad_norm has no effect with lomo: it updates each weight during "
                    "the backward pass, so there are no gradients left to clip",
                )
            )
        if isinstance(t.gradient_accumulation_steps, int) and t.gradient_accumulation_steps > 1:
            out.append(
                (
                    "gradient_accumulation_steps",
                    "lomo updates the weights at every micro-batch (it "
                    "keeps no gradients to accumulate): "
                    "gradient_accumulation_steps only divides each update",
                )
            )
        if isinstance(t.weight_decay, (int, float)) and t.weight_decay > 0:
            out.append(("weight_decay", "weight_decay has no effect with lomo (transformers does not pass it on)"))
    return out


def _task_warnings(t: TrainerComponent) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if t.task == "sft" and _is_set(t, "label_column"):
        out.append(("label_column", "label_column has no effect with task: sft (it names classification labels)"))
    if t.task == "classification" and t.chat_template is not None:
        out.append(
            (
                "chat_template",
                "chat_template has no effect on classification training (it is only saved with the tokenizer)",
            )
        )
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
        out.append(
            (
                "resources",
                "resources.processes has no effect with gpus (one process runs per GPU): it is for CPU jobs, gpus: 0",
            )
        )
    several = gpus >= 2 or (gpus == 0 and (processes or 1) >= 2)
    if r.gpu_memory_gb is not None and gpus == 0:
        out.append(
            ("resources", "resources.gpu_memory_gb has no effect with gpus: 0 (it is the memory each GPU must have)")
        )
    if _is_set(r, "launcher") and not several:
        out.append(
            (
                "resources",
                "resources.launcher has no effect: the job runs one process (it starts "
                "several with gpus: N >= 2, or processes: N >= 2 and gpus: 0)",
            )
        )
    return out


# --- model (inference) ------------------------------------------------------------

MODEL_TASKS: tuple[str, ...] = ("text-generation", "chat-completion", "text-classification")
# model-compose's other model tasks: refused by name, never run as something else.
OTHER_MODEL_TASKS: tuple[str, ...] = (
    "text-embedding",
    "text-reranking",
    "summarization",
    "translation",
    "question-answering",
    "image-to-text",
    "image-classification",
    "image-segmentation",
    "image-generation",
    "image-upscale",
    "face-embedding",
    "text-to-speech",
    "speech-to-text",
    "object-detection",
    "visual-question-answering",
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


def _check_device(value: str | None) -> str | None:
    if value is None or _bound(value):
        return value
    head, _, index = value.partition(":")
    if (head == "cpu" and not index) or (head == "cuda" and (not index or index.isdigit())):
        return value
    raise ValueError(f"device {value!r}: use cpu, cuda or cuda:N")


_INF_MODEL = "Model"
_INPUT = "Input"
_GEN = "Generation"


class ModelSource(_Model):
    """The object form of ``model``: ``{provider: huggingface, repository, revision}`` or
    ``{provider: local, path}``."""

    provider: Literal["huggingface", "local"] = _field(
        ..., help="huggingface (repository) or local (path).", group="Model"
    )
    repository: str | None = _field(help="Hub id such as org/name.", group="Model", path="read-or-hub")
    revision: str | None = _field(help="Hub branch, tag or commit.", group="Model")
    path: str | None = _field(help="The model's folder (under the workspace).", group="Model", path="read")

    @model_validator(mode="after")
    def _consistent(self) -> ModelSource:
        if self.provider == "local":
            if not self.path:
                raise ValueError("provider: local needs path: (the model's folder)")
            if self.repository is not None or self.revision is not None:
                raise ValueError(
                    "repository and revision are for provider: huggingface; a local model is read from path"
                )
        else:
            if not self.repository:
                raise ValueError("provider: huggingface needs repository: (a hub id such as org/name)")
            if self.path is not None:
                raise ValueError("path is for provider: local; a hub model is named by repository")
        return self


ModelValue = str | ModelSource


class PeftAdapterSpec(_Model):
    """One entry of ``peft_adapters``: a LoRA adapter folder and the weight it is applied with."""

    type: Literal["lora"] = _field("lora", help="Adapter type: lora.", group="Adapters")
    name: str | None = _field(help="The adapter's name (adapter<N> when not given).", group="Adapters")
    model: ModelValue = _field(
        ..., help="The adapter's folder, e.g. ${jobs.train.output.output_dir}.", group="Adapters", path="read-or-hub"
    )
    weight: float = _field(1.0, help="How strongly the adapter is applied, in [0, 1].", group="Adapters", ge=0, le=1)

    _numeric_string = field_validator("weight", mode="before")(_number_from_string)


class ModelComponent(_Model):
    """``type: model`` (SPEC §7): run a local model over one input or every row of a data set.

    The seed dialect writes every field at the top level; model-compose's own (nested)
    form keeps ``prompt``/``messages``/``text`` under ``action:`` and the generation
    settings under ``action.params``. ``prompt``, ``messages`` and ``text`` are
    ``{column}`` templates when ``dataset`` is given (one answer per row).
    """

    id: str = _field(..., help="The component's id; jobs name it in component:.", group="Component")
    type: Literal["model"] = _field("model", help="Always model.", group="Component")
    task: Annotated[Literal[MODEL_TASKS], BeforeValidator(_refuse_other_task)] = _essential(  # type: ignore[valid-type]
        ...,
        help="text-generation (prompt), chat-completion (messages) or text-classification (text).",
        group=_INF_MODEL,
    )

    model: ModelValue | None = _essential(
        help="The model: a folder under the workspace, a hub id, or {provider: huggingface | local, ...}.",
        group=_INF_MODEL,
        path="read-or-hub",
    )
    peft_adapters: list[PeftAdapterSpec] | None = _essential(
        help="LoRA adapters applied to the model: [{type: lora, name, model, weight}].", group=_INF_MODEL
    )
    precision: Literal[PRECISIONS] = _field(  # type: ignore[valid-type]
        "auto", help="Weights' dtype: auto (the model's own), float32, float16 or bfloat16.", group=_INF_MODEL
    )
    quantization: Literal[MODEL_QUANTIZATIONS] | None = _field(  # type: ignore[valid-type]
        help="Load the weights in 8 or 4 bits (bitsandbytes, GPU).", group=_INF_MODEL
    )
    device: Annotated[str | None, AfterValidator(_check_device)] = _field(
        help="cpu, cuda or cuda:N. Empty: the first GPU when there is one, else the CPU.", group=_INF_MODEL
    )
    max_seq_length: int = _field(
        2048, help="Longest input; longer inputs are cut from the left.", group=_INF_MODEL, unit="tokens", ge=1
    )

    # input
    dataset: Any = _essential(
        help="A data set (${jobs.<id>.output}): one answer per row, with prompt, messages or "
        "text as {column} templates.",
        group=_INPUT,
    )
    prompt: str | None = _essential(help="text-generation: the prompt.", group=_INPUT, evaluated=True)
    messages: list[dict[str, Any]] | None = _essential(
        help="chat-completion: the conversation, [{role, content}].", group=_INPUT, evaluated=True
    )
    text: str | None = _essential(help="text-classification: the text to classify.", group=_INPUT, evaluated=True)
    batch_size: int = _field(8, help="Rows run together over a data set.", group=_INPUT, unit="rows", ge=1)

    # generation
    max_output_length: int = _essential(1024, help="Most new tokens per answer.", group=_GEN, unit="tokens", ge=1)
    num_return_sequences: int = _field(1, help="Answers per input.", group=_GEN, ge=1)
    stop_sequences: list[str] | None = _field(help="Text that ends an answer (not included in it).", group=_GEN)
    do_sample: bool = _field(
        False, help="Sample (with temperature, top_p, top_k) instead of greedy or beam search.", group=_GEN
    )
    temperature: float = _field(1.0, help="Sampling temperature (with do_sample).", group=_GEN, gt=0)
    top_p: float = _field(
        0.9, help="Nucleus sampling: keep the likeliest tokens up to this probability.", group=_GEN, gt=0, le=1
    )
    top_k: int = _field(50, help="Sample among the k likeliest tokens (0: no limit).", group=_GEN, ge=0)
    num_beams: int = _field(1, help="Beam search width (1: no beam search).", group=_GEN, ge=1)

    _numeric_string = field_validator(
        "max_seq_length",
        "batch_size",
        "max_output_length",
        "num_return_sequences",
        "temperature",
        "top_p",
        "top_k",
        "num_beams",
        mode="before",
    )(_number_from_string)

    @model_validator(mode="after")
    def _consistent(self) -> ModelComponent:
        problems = model_problems(self)
        if problems:
            raise ValueError("; ".join(message for _, message in problems))
        return self


# The input field each task reads.
MODEL_INPUT_FIELD: dict[str, str] = {
    "text-generation": "prompt",
    "chat-completion": "messages",
    "text-classification": "text",
}
# The settings of generation (model-compose's ``action.params``): the Generation group.
GENERATION_FIELDS: tuple[str, ...] = tuple(
    name for name, info in ModelComponent.model_fields.items() if field_extra(info, "group") == _GEN
)


def model_problems(m: ModelComponent) -> list[tuple[str, str]]:
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
                out.append((name, f"{name} is a generation setting; task text-classification does not generate"))
    if isinstance(m.messages, list):
        for index, message in enumerate(m.messages):
            if not isinstance(message, dict) or set(message) - {"role", "content"} or "content" not in message:
                out.append(("messages", f"messages[{index}]: expected {{role, content}}"))
    adapters = m.peft_adapters or []
    names = [a.name or f"adapter{i}" for i, a in enumerate(adapters) if isinstance(a, PeftAdapterSpec)]
    for name in sorted({n for n in names if names.count(n) > 1}):
        out.append(("peft_adapters", f"adapter name {name} is used twice; give each adapter its own name"))
    if (
        isinstance(m.num_beams, int)
        and isinstance(m.num_return_sequences, int)
        and m.do_sample is False
        and m.num_return_sequences > m.num_beams
    ):
        out.append(
            (
                "num_return_sequences",
                "greedy search returns one sequence: set do_sample: true or num_beams >= num_return_sequences",
            )
        )
    return out


def model_warnings(m: ModelComponent) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if m.do_sample is False and m.task in GENERATION_TASKS:
        for name in SAMPLING_FIELDS:
            if _is_set(m, name):
                out.append(
                    (name, f"{name} has no effect without do_sample: true (greedy and beam search do not sample)")
                )
    if _is_set(m, "batch_size") and m.dataset is None:
        out.append(("batch_size", "batch_size has no effect without dataset: (one input is one batch)"))
    return out


def _tag(key: str, default: str | None = None) -> Any:
    def tag(value: Any) -> str | None:
        found = value.get(key, default) if isinstance(value, dict) else getattr(value, key, default)
        return found if isinstance(found, str) else None

    return tag


# What one job runs: the component's type picks the model, and for datasets its method
# picks the operation. A document's component is :data:`COMPONENT_TYPES`' model instead,
# since a datasets component may leave the method to its jobs.
# Built at run time from the operations, so typed as Any for the checker.
Component: Any = Annotated[
    Annotated[
        Annotated[
            functools.reduce(operator.or_, (Annotated[op, Tag(method)] for method, op in DATASETS_OPERATIONS.items())),
            Discriminator(_tag("method", "load")),
        ],
        Tag("datasets"),
    ]
    | Annotated[TrainerComponent, Tag("model-trainer")]
    | Annotated[ModelComponent, Tag("model")],
    Discriminator(_tag("type")),
]
COMPONENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Component)
COMPONENT_TYPES: dict[str, type[_Model]] = {
    "datasets": DatasetsComponent,
    "model-trainer": TrainerComponent,
    "model": ModelComponent,
}


def job_model(component_type: str, method: str | None = None) -> type[_Model] | None:
    """The model one job's config is validated by (a datasets job: its operation's)."""
    if component_type == "datasets":
        return DATASETS_OPERATIONS.get(method or "load")
    return COMPONENT_TYPES.get(component_type)
