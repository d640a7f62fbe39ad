"""The ``datasets`` component's form layout: one group per operation (SPEC §5)."""
from __future__ import annotations

from compose.schema.components import DatasetsComponent
from training.forms.schema_fields import FieldGroup, grouped, model_field_specs

DATASETS_LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Operation", ("method",)),
    ("Load from the hub", ("provider", "path", "name", "split", "revision", "token",
                           "trust_remote_code", "streaming", "cache_dir")),
    ("Load from files", ("loader", "data_files", "data_dir")),
    ("Sampling", ("shuffle", "fraction", "seed")),
    ("Concat", ("datasets", "direction")),
    ("Select", ("dataset", "axis", "indices", "columns")),
    ("Filter", ("condition", "where")),
    ("Map", ("template", "output_column", "remove_columns")),
)

# Which groups matter for which method; the page hides the others (they stay editable).
GROUP_METHODS: dict[str, tuple[str, ...]] = {
    "Load from the hub": ("load",),
    "Load from files": ("load",),
    "Sampling": ("load",),
    "Concat": ("concat",),
    "Select": ("select", "filter", "map"),
    "Filter": ("filter",),
    "Map": ("map",),
}

DATASETS_HELP: dict[str, str] = {
    "method": "What the component does: load a data set, or concat/select/filter/map data sets. "
              "A job's method: may pick it instead.",
    "provider": "huggingface (a hub id in path) or local (files; set loader).",
    "path": "Hub data set id, e.g. tatsu-lab/alpaca.",
    "name": "Hub configuration name.",
    "split": "Split to load (default: train when present).",
    "revision": "Hub branch, tag or commit.",
    "token": "Hub token; use a binding such as ${env.HF_TOKEN}, never the token itself.",
    "trust_remote_code": "Run the data set's own loading script (only in admin-enabled workspaces).",
    "streaming": "Read rows lazily instead of downloading everything first.",
    "cache_dir": "Folder for the hub cache.",
    "shuffle": "Shuffle (with seed) before taking a fraction.",
    "fraction": "Keep this share of rows, in (0, 1]; ceil(rows × fraction) are kept.",
    "seed": "Seed for shuffle.",
    "loader": "File format: json, jsonl, csv, parquet or text.",
    "data_files": "A path, a list of paths, or a mapping split -> paths (relative to the workspace).",
    "data_dir": "A folder of data files (relative to the workspace).",
    "datasets": "Concat: the data sets to join, e.g. [${jobs.a.output}, ${jobs.b.output}].",
    "direction": "vertical appends rows; horizontal joins columns side by side.",
    "dataset": "The input data set, usually ${input.dataset} or ${jobs.load.output}.",
    "axis": "Select rows by indices, or columns by name.",
    "indices": "Row numbers to keep, e.g. 0, 1, 2.",
    "columns": "Column names to keep, e.g. instruction, input, output.",
    "condition": "Rows to keep, e.g. len(output) > 20 and input == \"\".",
    "where": "Nested-dialect condition tree ({column, operator, value} or all/any/not).",
    "template": "Text with {column} placeholders; {{ and }} write literal braces.",
    "output_column": "Column that receives the rendered template.",
    "remove_columns": "Columns to drop after mapping.",
}


def datasets_groups() -> list[FieldGroup]:
    specs = model_field_specs(DatasetsComponent, DATASETS_HELP)
    for name in ("id", "type"):
        specs.pop(name, None)
    return grouped(specs, DATASETS_LAYOUT)
