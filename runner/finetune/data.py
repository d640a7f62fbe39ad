"""Training rows: loading dataset references and shaping rows for each task.

SFT rows become one of trl's two shapes:

* ``text_column`` -> ``{"text": ...}`` (language modelling on the whole text);
* ``prompt_column`` + ``response_column`` (+ ``system_column``) -> prompt/completion.
  With a chat template the pair is conversational (system/user messages, an assistant
  reply) and trl renders it with the template; without one it is plain text under a
  short "### Instruction / ### Response" frame. Either way trl's completion mask puts
  the loss on the response only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from compose.jobspec import is_dataset_ref
from compose.schema.components import TrainerComponent
from runner.dataset_prep import load_reference
from runner.finetune.errors import ConfigProblem

# The Alpaca layout (instruction/input/output): a non-empty ``input`` is context for the
# instruction, so it joins the prompt even though no field names it.
ALPACA_INPUT_COLUMN = "input"


@contextmanager
def transforms_in_scratch() -> Iterator[None]:
    """Transforms of the training data (prompt rendering, TRL's tokenization) write their
    Arrow files to a temporary folder that goes when the process ends (under ``TMPDIR``),
    never beside the materialized data set. That folder is shared by every run that reads
    the data, possibly at the same time, possibly mounted read-only; and the tokenized
    copies could not be reused anyway (their fingerprints hash the tokenizer object)."""
    from datasets import disable_caching, enable_caching, is_caching_enabled

    was_enabled = is_caching_enabled()
    disable_caching()
    try:
        yield
    finally:
        if was_enabled:
            enable_caching()


def load_dataset_value(value: Any, storage_dir: str, field: str):
    """The ``datasets.Dataset`` a dataset reference (a datasets job's output) points to."""
    if value is None:
        raise ConfigProblem(
            field, "no data set given; bind it to a datasets job's output, e.g. dataset: ${jobs.load.output}"
        )
    if not is_dataset_ref(value):
        shown = value if isinstance(value, str) and len(value) < 60 else type(value).__name__
        raise ConfigProblem(field, f"expected a data set (the output of a datasets job), got {shown!r}")
    dataset = _load_reference(value, storage_dir)
    if len(dataset) == 0:
        raise ConfigProblem(
            field,
            f"the data set {value.get('fingerprint', '')} has no rows "
            "(did a filter drop them all?); nothing to train on",
        )
    return dataset


def _load_reference(ref: dict[str, Any], storage_dir: str):
    return load_reference(ref, storage_dir)


def require_columns(
    dataset: Any, columns: Sequence[str | None], field_of: Mapping[str | None, str], which: str
) -> None:
    missing = [c for c in columns if c not in dataset.column_names]
    if missing:
        column = missing[0]
        raise ConfigProblem(
            field_of[column],
            f"column {column!r} is not in the {which} data set (its columns: {', '.join(dataset.column_names)})",
        )


# --- SFT ------------------------------------------------------------------------


def sft_rows(dataset: Any, cfg: TrainerComponent, *, conversational: bool, which: str = "training"):
    """Rows in trl's ``text`` or ``prompt``/``completion`` shape; other columns dropped."""
    text_column = cfg.effective_text_column
    if text_column:
        require_columns(dataset, [text_column], {text_column: "text_column"}, which)
        rows = dataset.select_columns([text_column])
        return rows.rename_column(text_column, "text") if text_column != "text" else rows

    fields = {cfg.prompt_column: "prompt_column", cfg.response_column: "response_column"}
    if cfg.system_column:
        fields[cfg.system_column] = "system_column"
    require_columns(dataset, list(fields), fields, which)
    use_input = ALPACA_INPUT_COLUMN in dataset.column_names and ALPACA_INPUT_COLUMN not in fields

    def shape(row: dict[str | None, Any]) -> dict[str, Any]:
        prompt = str(row[cfg.prompt_column] or "")
        if use_input and row.get(ALPACA_INPUT_COLUMN):
            prompt = f"{prompt}\n\n{row[ALPACA_INPUT_COLUMN]}"
        system = str(row[cfg.system_column] or "") if cfg.system_column else ""
        response = str(row[cfg.response_column] or "")
        if conversational:
            messages = [{"role": "system", "content": system}] if system else []
            messages.append({"role": "user", "content": prompt})
            return {"prompt": messages, "completion": [{"role": "assistant", "content": response}]}
        return {"prompt": plain_prompt(prompt, system), "completion": response}

    return dataset.map(shape, remove_columns=dataset.column_names, desc="render prompt/response")


def plain_prompt(prompt: str, system: str = "") -> str:
    head = f"{system}\n\n" if system else ""
    return f"{head}### Instruction:\n{prompt}\n\n### Response:\n"


# --- classification ---------------------------------------------------------------


def label_names(train: Any, eval_: Any | None, column: str) -> list[str] | None:
    """Class names when the labels are strings or a ClassLabel; None for integer ids."""
    feature = train.features.get(column)
    if feature is not None and hasattr(feature, "names"):
        return list(feature.names)
    values = list(train[column]) + (list(eval_[column]) if eval_ is not None else [])
    if any(isinstance(v, str) for v in values):
        return sorted({str(v) for v in values})
    return None


def classification_rows(
    dataset: Any, cfg: TrainerComponent, tokenizer: Any, label2id: dict[str, int], *, which: str = "training"
):
    """Tokenized rows with integer ``labels``."""
    text_column = cfg.effective_text_column or "text"
    fields: dict[str | None, str] = {text_column: "text_column", cfg.label_column: "label_column"}
    if cfg.text_pair_column:
        fields[cfg.text_pair_column] = "text_pair_column"
    require_columns(dataset, list(fields), fields, which)
    feature = dataset.features.get(cfg.label_column)
    names = list(feature.names) if feature is not None and hasattr(feature, "names") else None

    def encode(batch: dict[str, list[Any]]) -> dict[str, Any]:
        texts = [str(t) for t in batch[text_column]]
        pairs = [str(t) for t in batch[cfg.text_pair_column]] if cfg.text_pair_column else None
        encoded = tokenizer(texts, pairs, truncation=True, max_length=cfg.max_seq_length)
        labels = []
        for value in batch[cfg.label_column]:
            key = names[value] if names is not None else str(value)
            if key not in label2id:
                raise ConfigProblem(
                    "label_column",
                    f"label {value!r} in the {which} data set is not among the training labels ({', '.join(label2id)})",
                )
            labels.append(label2id[key])
        encoded["labels"] = labels
        return encoded

    return dataset.map(encode, batched=True, remove_columns=dataset.column_names, desc="tokenize")


def label_maps(train: Any, eval_: Any | None, column: str) -> tuple[dict[int, str], dict[str, int]]:
    require_columns(train, [column], {column: "label_column"}, "training")
    if eval_ is not None:
        require_columns(eval_, [column], {column: "label_column"}, "eval")
    names = label_names(train, eval_, column)
    if names is None:
        values = [int(v) for v in train[column]] + ([int(v) for v in eval_[column]] if eval_ is not None else [])
        if min(values) < 0:
            raise ConfigProblem("label_column", "integer labels must be 0, 1, 2, ...; found a negative label")
        names = [str(i) for i in range(max(values) + 1)]
    id2label = dict(enumerate(names))
    return id2label, {name: i for i, name in id2label.items()}
