"""The operations on materialized data sets: concat, select, filter, map.

Each works on ``datasets.Dataset`` objects and writes any cache file it needs into the
job's scratch folder, never into an input data set's folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from compose.jobspec import JobFailed
from runner.dataset_prep.arrow_condition import column_kind, compile_arrow
from runner.dataset_prep.expression import Condition, ExpressionError, compile_condition, explain_row_error
from runner.dataset_prep.materialize import feature_type
from runner.dataset_prep.progress import RowProgress
from runner.dataset_prep.template import TemplateError, check_columns, parse_template, render_arrow
from runner.dataset_prep.where import compile_where

BATCH_ROWS = 1000
# Rows per filter step: large enough that Arrow kernels run at full speed, small enough
# for frequent progress reports and cancel checks.
FILTER_CHUNK_ROWS = 10_000


def concat(datasets: Sequence[Any], direction: str):
    from datasets import concatenate_datasets

    if not datasets:
        raise JobFailed("concat needs at least one data set in datasets")
    if direction == "horizontal":
        counts = [len(d) for d in datasets]
        if len(set(counts)) > 1:
            listed = ", ".join(f"datasets[{i}] has {c}" for i, c in enumerate(counts))
            raise JobFailed(f"horizontal concat needs the same number of rows in every data set: {listed}")
        seen: dict[str, int] = {}
        for i, d in enumerate(datasets):
            for name in d.column_names:
                if name in seen:
                    raise JobFailed(
                        f"horizontal concat: column {name!r} is in datasets[{seen[name]}] "
                        f"and datasets[{i}]; select or rename columns first"
                    )
                seen[name] = i
        return concatenate_datasets(list(datasets), axis=1)
    first = datasets[0]
    aligned = [first]
    for i, d in enumerate(datasets[1:], start=1):
        if set(d.column_names) != set(first.column_names):
            only_first = sorted(set(first.column_names) - set(d.column_names))
            only_this = sorted(set(d.column_names) - set(first.column_names))
            parts = []
            if only_first:
                parts.append(f"only datasets[0] has {', '.join(only_first)}")
            if only_this:
                parts.append(f"only datasets[{i}] has {', '.join(only_this)}")
            raise JobFailed(f"vertical concat needs the same columns in every data set: {'; '.join(parts)}")
        for name in first.column_names:
            a, b = first.features[name], d.features[name]
            if _type(a) != _type(b):
                raise JobFailed(
                    f"vertical concat: column {name!r} is {_type(a)} in datasets[0] and {_type(b)} in datasets[{i}]"
                )
        # Same values, different Arrow layout (string vs large_string from a CSV file).
        if any(first.features[name] != d.features[name] for name in first.column_names):
            d = d.cast(first.features, keep_in_memory=True)
        aligned.append(d)
    return concatenate_datasets(aligned, axis=0)


def select_rows(dataset, indices: Sequence[int] | None):
    """Rows by position, in the order given; negative indices count from the end (-1 is the last)."""
    if indices is None:
        raise JobFailed("select with axis: rows needs indices, e.g. indices: [0, 1, 2]")
    n = len(dataset)
    resolved = []
    for position, index in enumerate(indices):
        if not -n <= index < n:
            raise JobFailed(
                f"indices[{position}] is {index}, outside the data set's {n} rows "
                f"(valid: 0..{n - 1}, or -{n}..-1 from the end)"
                if n
                else f"indices[{position}] is {index}, but the data set has no rows"
            )
        resolved.append(index + n if index < 0 else index)
    return dataset.select(resolved, keep_in_memory=True)


def select_columns(dataset, columns: Sequence[str] | None):
    if not columns:
        raise JobFailed("select with axis: columns needs columns, e.g. columns: [instruction, output]")
    missing = [c for c in columns if c not in dataset.column_names]
    if missing:
        raise JobFailed(
            f"select: no column {', '.join(repr(c) for c in missing)}; "
            f"the columns are: {', '.join(dataset.column_names)}"
        )
    return dataset.select_columns(list(columns))


def compile_filter(condition: str | None, where: Any, columns: Sequence[str]) -> Condition:
    if condition and where:
        raise JobFailed("filter takes condition or where, not both")
    try:
        if condition:
            return compile_condition(condition, columns)
        if where:
            return compile_where(where, columns)
    except ExpressionError as exc:
        raise JobFailed(f"filter condition: {exc}") from None
    raise JobFailed('filter needs a condition, e.g. condition: len(output) > 20 and input == ""')


def filter_rows(ctx, dataset, condition: Condition):
    """Rows where the condition is true, in their order; progress is reported per chunk.

    The condition's columns are read as Arrow chunks; the kept row numbers are gathered
    and selected once, so the only full pass over the data is the final save.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    total = len(dataset)
    progress = RowProgress(ctx, "filter", total)
    names = condition.columns
    if not names:
        # A condition on no column (e.g. "True") is the same for every row.
        keep_all = bool(condition({}, 1)[0])
        progress.advance(total)
        progress.finish()
        return dataset if keep_all else dataset.select([], keep_in_memory=True)

    arrow_mask = _arrow_condition(condition, dataset.features)
    view = dataset.with_format("arrow", columns=names)
    kept = []
    for start in range(0, total, FILTER_CHUNK_ROWS):
        table = view[start : start + FILTER_CHUNK_ROWS]
        n = table.num_rows
        mask = None
        if arrow_mask is not None and not any(table.column(name).null_count for name in names):
            try:
                mask = arrow_mask(table)
            except Exception:  # e.g. an overflow: Python's answer (or its error) decides
                mask = None
        if mask is None:
            batch = {name: table.column(name).to_pylist() for name in names}
            mask = pa.array(_python_mask(condition, batch, n, start), type=pa.bool_())
        kept.append(pc.indices_nonzero(mask).to_numpy().astype(np.int64) + start)
        progress.advance(n)
    progress.finish()
    indices = np.concatenate(kept) if kept else np.array([], dtype=np.int64)
    return dataset.select(indices, keep_in_memory=True)


def _python_mask(condition: Condition, batch: dict[str, list], n: int, start: int) -> list:
    try:
        values = condition(batch, n)
    except Exception as exc:
        where = explain_row_error(condition, batch, n, range(start, start + n))
        raise JobFailed(
            f"filter condition {condition.source!r} failed on {where or f'a row: {type(exc).__name__}: {exc}'}"
        ) from None
    return values if condition.boolean else list(map(bool, values))


def _arrow_condition(condition: Condition, features: Any):
    """The condition as Arrow kernels when that gives exactly Python's result, else None."""
    if condition.language != "expression":
        return None
    kinds = {name: column_kind(features[name]) for name in condition.columns}
    if any(kind is None for kind in kinds.values()):
        return None
    return compile_arrow(condition.source, kinds)  # type: ignore[arg-type]


def map_template(
    ctx, dataset, template_text: str | None, output_column: str, remove_columns: Sequence[str] | None, scratch: Path
):
    from datasets import Value

    if template_text is None:
        raise JobFailed('map needs a template, e.g. template: "### Instruction:\\n{instruction}"')
    try:
        template = parse_template(template_text)
        check_columns(template, dataset.column_names)
    except TemplateError as exc:
        raise JobFailed(f"map {exc}") from None
    removing = list(remove_columns or [])
    missing = [c for c in removing if c not in dataset.column_names]
    if missing:
        raise JobFailed(
            f"map remove_columns: no column {', '.join(repr(c) for c in missing)}; "
            f"the columns are: {', '.join(dataset.column_names)}"
        )
    names = list(dict.fromkeys(template.columns))
    positions = {name: i for i, name in enumerate(names)}
    progress = RowProgress(ctx, "map", len(dataset))

    def render(*values: Any) -> dict[str, list[str]]:
        n = len(values[0]) if values else 0
        batch = {name: values[positions[name]] for name in names}
        texts = template.render(batch, n)
        progress.advance(n)
        return {output_column: texts}

    def render_text(batch: Any) -> Any:
        # An Arrow batch in, the whole new batch out: the library writes it as it is.
        column = render_arrow(template, {name: batch.column(name) for name in names})
        kept = batch.drop_columns([c for c in removing + [output_column] if c in batch.column_names])
        progress.advance(len(column))
        return kept.append_column(output_column, column)

    if not names or len(dataset) == 0:
        # No placeholder, or no rows (the library's map skips an empty table, column and all).
        texts = template.render({}, len(dataset)) if not names else []
        out = dataset.remove_columns(output_column) if output_column in dataset.column_names else dataset
        # Add before removing: a table left with no column would also lose its row count.
        out = out.add_column(output_column, texts, feature=Value("string"))
        out = out.remove_columns(removing) if removing else out
        progress.advance(len(dataset))
        progress.finish()
        return out
    common = dict(
        batched=True,
        batch_size=BATCH_ROWS,
        cache_file_name=str(scratch / "map.arrow"),
        load_from_cache_file=False,
        new_fingerprint=_op_fingerprint(scratch, "map"),
    )
    if all(_is_text(dataset.features[name]) for name in names):
        # Text columns render with Arrow's string kernels: no Python string per row.
        out = dataset.with_format("arrow").map(render_text, **common).with_format(None)
    else:
        out = dataset.map(render, input_columns=names, remove_columns=removing or None, **common)
    progress.finish()
    return out


def _is_text(feature: Any) -> bool:
    return getattr(feature, "dtype", None) in ("string", "large_string")


def _op_fingerprint(scratch: Path, op: str) -> str:
    # Our own fingerprint names the result; this only spares the library from hashing closures.
    return f"{scratch.name}-{op}"


def _type(feature: Any) -> str:
    return feature_type(feature)
