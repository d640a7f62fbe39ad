"""docs/compose-format.md's field tables are the schema's: a field added to a model is
documented (with its help, default, range and unit) by python -m compose.schema.docs."""

from __future__ import annotations

from pydantic import create_model

from compose.schema import docs
from compose.schema.components import COMPONENT_TYPES, TrainerComponent, _field


def test_the_docs_tables_match_the_schema():
    text = docs.DOC.read_text(encoding="utf-8")
    assert docs.rewritten(text) == text, "docs/compose-format.md is out of date: run python -m compose.schema.docs"
    assert docs.main(["--check"]) == 0


def test_every_field_of_every_component_is_in_a_table():
    tables = docs.field_tables()
    for ctype, model in COMPONENT_TYPES.items():
        for name, info in model.model_fields.items():
            if name not in docs.HIDDEN:
                assert f"| `{info.alias or name}` |" in tables, f"{ctype}.{name} is not documented"


def test_a_new_field_appears_with_its_help_range_and_unit():
    widened = create_model(
        "Widened",
        __base__=TrainerComponent,
        warmup_ratio=(
            float | None,
            _field(help="Share of the steps spent warming up.", group="Scheduler", unit="of the steps", ge=0, le=1),
        ),
    )
    row = next(line for line in docs.table(widened).splitlines() if "`warmup_ratio`" in line)
    assert row == ("| `warmup_ratio` | number |  | ≥ 0, ≤ 1, of the steps | Share of the steps spent warming up. |")
