"""Export: both dialects round-trip, and edits over the original text touch only what changed."""

from __future__ import annotations

import difflib

import pytest

from compose.exporter import export_yaml, remove_field, set_field
from compose.loader import load_compose, parse
from tests.compose.test_dialects import NESTED

COMMENTED = """\
# Fine-tune with LoRA; run: compose run train.yaml
components:
  - id: loader            # the hub data set
    type: datasets
    provider: huggingface
    path: tatsu-lab/alpaca
    split: train

  - id: trainer
    type: model-trainer
    task: sft
    peft_adapter: lora
    lora_r: 16            # rank
    lora_alpha: 32
    dataset: ${input.dataset}
    token_note: ignored   # an unknown key stays as written
    learning_rate: 1e-4   # LoRA likes a higher rate
    num_epochs: 3
    output_dir: ./output/lora

workflows:
  - id: train
    jobs:
      - id: load
        component: loader

      - id: train
        component: trainer
        input:
          dataset: ${jobs.load.output}
        depends_on: [ load ]
"""
CLEAN = COMMENTED.replace("    token_note: ignored   # an unknown key stays as written\n", "")


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line.startswith(("- ", "+ "))]


@pytest.mark.parametrize("dialect", ["seed", "nested"])
@pytest.mark.parametrize("text", [CLEAN, NESTED], ids=["seed-file", "nested-file"])
def test_import_export_import_is_the_identity(text: str, dialect: str) -> None:
    doc = load_compose(text)
    exported = export_yaml(doc, dialect)
    assert load_compose(exported) == doc
    assert export_yaml(load_compose(exported), dialect) == exported


def test_nested_export_uses_the_nested_forms() -> None:
    exported = export_yaml(load_compose(CLEAN), "nested")
    trainer = exported.split("- id: trainer")[1].split("workflows:")[0]
    assert "lora:\n      rank: 16\n      alpha: 32\n" in trainer
    assert "    action:\n      dataset: ${input.dataset}\n" in trainer
    assert "peft_adapter" not in trainer and "lora_r" not in trainer
    assert "driver: huggingface" in exported


def test_seed_export_of_a_nested_file_is_flat() -> None:
    exported = export_yaml(load_compose(NESTED))
    assert "    peft_adapter: lora\n    lora_r: 64\n" in exported
    assert "    quantization: nf4\n    bnb_4bit_compute_dtype: bfloat16\n" in exported
    assert "action:" not in exported.split("workflows:")[0].split("id: qlora")[1]
    assert "      - id: pick\n        component: ops\n        method: columns\n" in exported


def test_unchanged_import_exports_the_original_text() -> None:
    assert export_yaml(parse(COMMENTED).file, original=COMMENTED) == COMMENTED
    assert export_yaml(parse(NESTED).file, "nested", original=NESTED) == NESTED


def test_asking_for_the_other_dialect_converts_the_whole_file() -> None:
    doc = parse(NESTED).file
    flat = export_yaml(doc, "seed", original=NESTED)
    assert "peft_adapter: lora" in flat and "driver:" not in flat
    assert load_compose(flat) == doc
    nested = export_yaml(parse(COMMENTED).file, "nested", original=COMMENTED)
    assert "driver: huggingface" in nested
    assert load_compose(nested) == parse(COMMENTED).file


def test_edited_field_changes_only_its_line() -> None:
    doc = parse(COMMENTED).file
    doc.components[1].fields["learning_rate"] = 2e-4
    after = export_yaml(doc, original=COMMENTED)
    assert changed_lines(COMMENTED, after) == [
        "-     learning_rate: 1e-4   # LoRA likes a higher rate",
        "+     learning_rate: 0.0002   # LoRA likes a higher rate",
    ]
    assert parse(after).file == doc


def test_added_and_removed_fields_keep_the_rest() -> None:
    doc = parse(COMMENTED).file
    fields = doc.components[1].fields
    del fields["num_epochs"]
    fields["lora_dropout"] = 0.1
    doc.workflows[0].jobs[1].depends_on = ["load"]
    doc.workflows[0].jobs.append(doc.workflows[0].jobs[0].model_copy(update={"id": "again"}))
    after = export_yaml(doc, original=COMMENTED)
    assert changed_lines(COMMENTED, after) == [
        "+     lora_dropout: 0.1",
        "-     num_epochs: 3",
        "+ ",
        "+       - id: again",
        "+         component: loader",
    ]
    # A new field sits with its kind (LoRA settings together), not at the end.
    assert "    lora_alpha: 32\n    lora_dropout: 0.1\n    dataset:" in after
    assert parse(after).file == doc


def test_new_component_is_appended_in_the_file_dialect() -> None:
    doc = parse(COMMENTED).file
    doc.components.append(doc.components[1].model_copy(update={"id": "second"}))
    after = export_yaml(doc, original=COMMENTED)
    assert after.startswith(COMMENTED.split("workflows:")[0].rstrip("\n"))
    assert "  - id: second\n    type: model-trainer\n    task: sft\n    peft_adapter: lora\n" in after
    assert parse(after).file == doc

    nested = parse(NESTED).file
    nested.components.append(doc.components[1].model_copy(update={"id": "second"}))
    after = export_yaml(nested, original=NESTED)
    assert after.startswith(NESTED.split("workflows:")[0].rstrip("\n"))
    assert "  - id: second\n    type: model-trainer\n    task: sft\n    lora:\n" in after


def test_edits_in_a_nested_file_stay_nested() -> None:
    doc = parse(NESTED).file
    fields = doc.component("qlora").fields
    fields["lora_r"] = 32
    fields["lora_dropout"] = 0.1
    fields["learning_rate"] = 1e-4
    fields["quantization"] = "int4"
    after = export_yaml(doc, original=NESTED)
    assert changed_lines(NESTED, after) == [
        "-       rank: 64",
        "+       rank: 32",
        "+       dropout: 0.1",
        "-       type: 4bit",
        "+       type: int4",
        "-       learning_rate: 2e-4",
        "+       learning_rate: 0.0001",
    ]
    assert parse(after).file == doc


def test_set_field_keeps_comments_and_bindings() -> None:
    after = set_field(COMMENTED, "components[1].num_epochs", 5)
    assert changed_lines(COMMENTED, after) == ["-     num_epochs: 3", "+     num_epochs: 5"]
    after = set_field(COMMENTED, "workflows[0].jobs[0].input.split", "${input.split | train}")
    assert changed_lines(COMMENTED, after) == ["+         input:", "+           split: ${input.split | train}"]
    assert parse(after).file.workflows[0].jobs[0].input == {"split": "${input.split | train}"}


def test_set_field_on_a_nested_file_uses_the_nested_key() -> None:
    after = set_field(NESTED, "components[3].num_epochs", 2)
    assert changed_lines(NESTED, after) == ["+       num_epochs: 2"]
    assert "      learning_rate: 2e-4\n      num_epochs: 2\n      optimizer: adamw_8bit\n" in after
    after = set_field(NESTED, "components[3].lora_alpha", 8)
    assert changed_lines(NESTED, after) == ["-       alpha: 16", "+       alpha: 8"]


def test_remove_field_removes_one_key() -> None:
    after = remove_field(COMMENTED, "components[1].token_note")
    assert after == CLEAN
    assert remove_field(COMMENTED, "components[1].not_there") == COMMENTED
    after = remove_field(NESTED, "components[3].peft_adapter")
    assert "lora:" not in after and "rank: 64" not in after


def test_secrets_are_never_resolved_on_export(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    text = "components:\n  - id: d\n    type: datasets\n    path: private/set\n    token: ${env.HF_TOKEN}\n"
    doc = load_compose(text)
    for dialect in ("seed", "nested"):
        exported = export_yaml(doc, dialect)
        assert "${env.HF_TOKEN}" in exported and "hf_secret_value" not in exported


def test_unknown_dialect_is_refused() -> None:
    with pytest.raises(ValueError):
        export_yaml(load_compose(CLEAN), "toml")  # type: ignore[arg-type]


def test_removing_the_first_component_deletes_only_its_lines() -> None:
    doc = parse(COMMENTED).file
    doc.components.pop(0)
    doc.workflows[0].jobs.pop(0)
    doc.workflows[0].jobs[0].depends_on = []
    doc.workflows[0].jobs[0].input = {"dataset": "${input.dataset}"}
    after = export_yaml(doc, original=COMMENTED)
    removed = [line for line in changed_lines(COMMENTED, after) if line.startswith("- ")]
    # The blank line that separated the removed item from the next goes with it.
    assert removed == [
        "-   - id: loader            # the hub data set",
        "-     type: datasets",
        "-     provider: huggingface",
        "-     path: tatsu-lab/alpaca",
        "-     split: train",
        "- ",
        "-       - id: load",
        "-         component: loader",
        "- ",
        "-           dataset: ${jobs.load.output}",
        "-         depends_on: [ load ]",
    ]
    assert after.startswith("# Fine-tune with LoRA; run: compose run train.yaml\ncomponents:\n  - id: trainer\n")
    assert "    lora_r: 16            # rank\n" in after
    assert parse(after).file == doc


def test_new_component_between_others_goes_where_the_document_puts_it() -> None:
    doc = parse(COMMENTED).file
    doc.components.insert(1, doc.components[0].model_copy(update={"id": "eval-loader"}))
    after = export_yaml(doc, original=COMMENTED)
    assert after.index("id: loader") < after.index("id: eval-loader") < after.index("id: trainer")
    assert parse(after).file == doc


def test_items_the_loader_could_not_read_are_kept() -> None:
    text = COMMENTED.replace("workflows:", "  - id: draft\n    type: model-traner   # typo, unread\n\nworkflows:")
    parsed = parse(text)
    assert [c.id for c in parsed.file.components] == ["loader", "trainer"]
    doc = parsed.file
    doc.components[1].fields["num_epochs"] = 1
    after = export_yaml(doc, original=text)
    assert "  - id: draft\n    type: model-traner   # typo, unread\n" in after
    assert changed_lines(text, after) == ["-     num_epochs: 3", "+     num_epochs: 1"]
