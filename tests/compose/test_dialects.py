"""The nested (public model-compose) dialect reads into the seed's field names."""

from __future__ import annotations

import pytest

from compose.loader import load_compose, parse

NESTED = """\
controller:
  type: http-server
  port: 8080

components:
  - id: alpaca
    type: datasets
    driver: huggingface
    action:
      method: load
      path: tatsu-lab/alpaca
      split: train
      fraction: 0.1

  - id: local
    type: datasets
    driver: huggingface
    action:
      method: load
      path: json
      data_files: ./data/train.json

  - id: ops
    type: datasets
    driver: huggingface
    actions:
      - id: merge
        method: concat
        datasets: ${input.datasets}
      - id: columns
        method: select
        axis: columns
        columns: [instruction, output]
        default: true

  - id: qlora
    type: model-trainer
    task: sft
    lora:
      rank: 64
      alpha: 16
      target_modules: [q_proj, v_proj]
    quantization:
      type: 4bit
      compute_dtype: bfloat16
      double_quant: true
    action:
      dataset: ${input.dataset}
      text_column: text
      learning_rate: 2e-4
      optimizer: adamw_8bit

workflows:
  - id: train
    jobs:
      - id: load
        component: alpaca
      - id: pick
        component: ops
        action: columns
        input:
          dataset: ${jobs.load.output}
        depends_on: [load]
      - id: train
        component: qlora
        input:
          dataset: ${jobs.pick.output}
        depends_on: pick

listeners:
  - type: http-callback
"""


@pytest.fixture(scope="module")
def nested():
    return parse(NESTED, source="nested.yaml")


def test_nested_file_loads_with_only_the_not_run_warning(nested) -> None:
    assert nested.errors == []
    assert [p.path for p in nested.warnings] == ["listeners"]
    assert "not run by compose-web" in nested.warnings[0].message
    assert nested.file.other_sections == {"listeners": [{"type": "http-callback"}]}
    assert nested.file.controller == {"type": "http-server", "port": 8080}


def test_hub_load_action_becomes_seed_fields(nested) -> None:
    assert nested.file.component("alpaca").fields == {
        "method": "load",
        "path": "tatsu-lab/alpaca",
        "split": "train",
        "fraction": 0.1,
    }


def test_builder_name_in_path_means_local_files(nested) -> None:
    assert nested.file.component("local").fields == {
        "method": "load",
        "provider": "local",
        "loader": "json",
        "data_files": "./data/train.json",
    }


def test_named_actions_are_kept_and_a_job_picks_one(nested) -> None:
    ops = nested.file.component("ops")
    assert list(ops.actions) == ["merge", "columns"]
    assert ops.actions["columns"] == {"method": "select", "axis": "columns", "columns": ["instruction", "output"]}
    assert ops.default_action == "columns"
    job = nested.file.workflows[0].jobs[1]
    assert job.method == "columns"


def test_lora_and_quantization_blocks_become_flat_fields(nested) -> None:
    fields = nested.file.component("qlora").fields
    assert fields["peft_adapter"] == "lora"
    assert (fields["lora_r"], fields["lora_alpha"], fields["lora_target_modules"]) == (64, 16, ["q_proj", "v_proj"])
    assert fields["quantization"] == "nf4"  # 4bit means nf4
    assert (fields["bnb_4bit_compute_dtype"], fields["bnb_4bit_use_double_quant"]) == ("bfloat16", True)
    assert fields["learning_rate"] == "2e-4" and fields["optimizer"] == "adamw_8bit"


def test_single_depends_on_name_becomes_a_list(nested) -> None:
    assert nested.file.workflows[0].jobs[2].depends_on == ["pick"]


@pytest.mark.parametrize(
    "written, canonical",
    [("4bit", "nf4"), ("nf4", "nf4"), ("int4", "int4"), ("fp4", "int4"), ("8bit", "int8"), ("int8", "int8")],
)
def test_quantization_shorthands(written: str, canonical: str) -> None:
    doc = load_compose(
        f"components:\n  - id: t\n    type: model-trainer\n    task: sft\n"
        f"    lora: {{rank: 8}}\n    quantization: {written}\n"
    )
    assert doc.components[0].fields["quantization"] == canonical


def test_both_lora_forms_is_an_error_at_the_flat_field() -> None:
    result = parse(
        "components:\n  - id: t\n    type: model-trainer\n    task: sft\n    lora_alpha: 16\n    lora:\n      rank: 8\n"
    )
    assert [(p.path, p.line) for p in result.errors] == [("components[0].lora_alpha", 5)]


def test_nested_field_errors_point_at_the_nested_key() -> None:
    result = parse(
        "components:\n  - id: t\n    type: model-trainer\n    task: sft\n"
        "    lora:\n      rank: 0\n      bais: none\n    action:\n      optimizer: adam\n"
        "      learning_rate: -1\n"
    )
    assert [(p.path, p.line) for p in result.errors] == [
        ("components[0].lora.rank", 6),
        ("components[0].lora.bais", 7),
        ("components[0].action.optimizer", 9),
        ("components[0].action.learning_rate", 10),
    ]
    assert "did you mean bias?" in result.errors[1].message


def test_field_given_at_top_and_under_action_is_an_error() -> None:
    result = parse(
        "components:\n  - id: t\n    type: model-trainer\n    task: sft\n"
        "    learning_rate: 1e-4\n    action:\n      learning_rate: 2e-4\n"
    )
    assert [(p.path, p.line) for p in result.errors] == [("components[0].action.learning_rate", 7)]


def test_job_with_method_and_action_is_an_error() -> None:
    result = parse(
        "components:\n  - id: d\n    type: datasets\nworkflows:\n  - id: w\n    jobs:\n"
        "      - id: a\n        component: d\n        method: load\n        action: load\n"
    )
    assert [(p.path, p.line) for p in result.errors] == [("workflows[0].jobs[0].action", 10)]


def test_job_must_choose_among_several_actions_without_a_default() -> None:
    result = parse(
        "components:\n  - id: d\n    type: datasets\n    actions:\n"
        "      - {id: one, method: load, path: x}\n      - {id: two, method: load, path: y}\n"
        "workflows:\n  - id: w\n    jobs:\n      - id: a\n        component: d\n"
    )
    assert [p.path for p in result.errors] == ["workflows[0].jobs[0]"]
    assert "choose one with action:" in result.errors[0].message


def test_unknown_action_id_is_reported_where_the_job_wrote_it() -> None:
    result = parse(
        "components:\n  - id: d\n    type: datasets\n    actions:\n"
        "      - {id: one, method: load, path: x}\n"
        "workflows:\n  - id: w\n    jobs:\n      - id: a\n        component: d\n        action: onee\n"
    )
    assert [(p.path, p.line) for p in result.errors] == [("workflows[0].jobs[0].action", 11)]


def test_one_file_may_mix_the_dialects() -> None:
    doc = load_compose(
        "components:\n  - id: t\n    type: model-trainer\n    task: sft\n"
        "    peft_adapter: lora\n    lora_r: 8\n    quantization: {type: nf4}\n"
        "    action:\n      num_epochs: 1\n"
    )
    assert doc.components[0].fields == {
        "task": "sft",
        "peft_adapter": "lora",
        "lora_r": 8,
        "quantization": "nf4",
        "num_epochs": 1,
    }


def test_singular_shorthands() -> None:
    doc = load_compose(
        "component:\n  type: datasets\n  path: tatsu-lab/alpaca\n"
        "workflow:\n  jobs:\n    - id: load\n      component: default\n"
    )
    assert [c.id for c in doc.components] == ["default"]
    assert doc.workflow().jobs[0].component == "default"


def test_unknown_datasets_driver_is_an_error() -> None:
    result = parse("components:\n  - id: d\n    type: datasets\n    driver: pandas\n")
    assert [(p.path, p.line) for p in result.errors] == [("components[0].driver", 4)]
