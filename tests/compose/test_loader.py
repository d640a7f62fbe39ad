"""Loading compose text: located problems, collected not thrown, bindings left for run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeError, Problem
from compose.loader import load_compose, load_compose_file, parse

TRAINER = "components:\n  - id: t\n    type: model-trainer\n    task: sft\n"


def test_problem_reads_like_compiler_output() -> None:
    problem = Problem(
        "components[1].lora_r", "lora_r has no effect without LoRA: set peft_adapter: lora", 12, 5, source="file.yaml"
    )
    assert str(problem) == (
        "file.yaml:12:5: components[1].lora_r: lora_r has no effect without LoRA: set peft_adapter: lora"
    )
    warning = Problem("listeners", "not run", 3, 1, severity="warning", source="f.yaml")
    assert str(warning) == "f.yaml:3:1: warning: listeners: not run"


def test_positions_map_every_written_path() -> None:
    text = (
        TRAINER + "    learning_rate: 5e-5\nworkflows:\n  - id: w\n    jobs:\n      - id: a\n"
        "        component: t\n        input:\n          dataset: x\n"
    )
    result = parse(text)
    assert result.positions["components[0].learning_rate"] == (5, 5)
    assert result.positions["workflows[0].jobs[0].input.dataset"] == (12, 11)
    assert result.locate("workflows[0].jobs[0].input.dataset") == (12, 11)
    # A path that was not written is placed at its closest written ancestor.
    assert result.locate("components[0].lora_r") == (2, 5)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "[",
        "{a: [}",
        "- - -",
        "a: !!python/object:os.system x\n",
        "components: [1, 2, {}]",
        "components:\n  - id: [x]\n    type: 3\n",
        "workflows:\n  - jobs: {}\n",
        "workflows: [{id: w, jobs: [3]}]",
        "\t",
        "components:\n  - &a {id: x, type: datasets}\n  - *a\n",
        "a: &r [*r]\n",
        "workflows:\n  - id: w\n    jobs:\n      - {id: a, component: b, depends_on: {x: 1}}\n",
    ],
)
def test_parse_never_raises_on_bad_input(text: str) -> None:
    result = parse(text)
    assert result.errors or result.file is not None


def test_syntax_error_has_line_and_column() -> None:
    result = parse("components:\n  - id: t\n    type: [model-trainer\n")
    assert len(result.errors) == 1
    assert result.errors[0].line is not None and result.errors[0].line >= 3
    assert result.errors[0].message.startswith("YAML syntax error")
    assert result.file is None


def test_load_compose_raises_with_all_errors_and_keeps_warnings_out_of_the_count() -> None:
    text = TRAINER + "    lora_r: 8\n    optimizer: nope\n    fp16: true\n    bf16: true\nlisteners: []\n"
    with pytest.raises(ComposeError) as caught:
        load_compose(text, source="x.yaml")
    assert [p.path for p in caught.value.problems] == ["components[0].lora_r", "components[0].optimizer"]
    assert str(caught.value).startswith("2 problems in the compose file")


def test_warnings_alone_do_not_stop_loading() -> None:
    doc = load_compose(TRAINER + "    fp16: true\n    bf16: true\ngateways: {}\n")
    assert doc.other_sections == {"gateways": {}}


def test_load_compose_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text(TRAINER + "    num_epochs: 0\n", encoding="utf-8")
    with pytest.raises(ComposeError) as caught:
        load_compose_file(path)
    assert str(caught.value.problems[0]).startswith(f"{path}:5:5: components[0].num_epochs:")


def test_numeric_strings_are_numbers_for_numeric_fields_only() -> None:
    load_compose(TRAINER + "    learning_rate: 5e-5\n    weight_decay: 1e-2\n    warmup_steps: 1e2\n")
    result = parse(TRAINER + "    output_dir: 5e-5\n    learning_rate: five\n")
    assert [p.path for p in result.errors] == ["components[0].learning_rate"]


def test_bound_fields_are_left_for_run_time() -> None:
    load_compose(
        TRAINER + "    learning_rate: ${input.lr as number | 5e-5}\n    num_epochs: ${input.epochs}\n"
        "    lora_r: ${input.rank}\n    peft_adapter: ${input.adapter}\n"
    )


def test_rules_still_apply_around_a_bound_field() -> None:
    result = parse(TRAINER + "    text_column: ${input.column}\n    prompt_column: p\n    response_column: r\n")
    assert [p.path for p in result.errors] == ["components[0].text_column"]


def test_missing_model_is_not_a_load_error() -> None:
    assert load_compose(TRAINER).components[0].fields.get("model") is None


def test_missing_task_is_an_error_at_the_component() -> None:
    result = parse("components:\n  - id: t\n    type: model-trainer\n")
    assert [(p.path, p.message) for p in result.errors] == [
        ("components[0]", "task is required: sft or classification")
    ]


def test_unknown_component_type_suggests_the_closest() -> None:
    result = parse("components:\n  - id: t\n    type: model-traner\n")
    assert [p.path for p in result.errors] == ["components[0].type"]
    assert "did you mean model-trainer?" in result.errors[0].message


def test_duplicate_component_and_workflow_ids() -> None:
    text = (
        "components:\n  - {id: d, type: datasets}\n  - {id: d, type: datasets}\n"
        "workflows:\n  - {id: w, jobs: [{id: a, component: d}]}\n  - {id: w, jobs: [{id: a, component: d}]}\n"
    )
    result = parse(text)
    assert [(p.path, p.line) for p in result.errors] == [("components[1].id", 3), ("workflows[1].id", 6)]


def test_unknown_job_and_workflow_keys_suggest_the_right_one() -> None:
    text = (
        "components:\n  - {id: d, type: datasets}\nworkflows:\n  - id: w\n    job: []\n    jobs:\n"
        "      - id: a\n        component: d\n        depend_on: [b]\n"
    )
    result = parse(text)
    messages = {p.path: p.message for p in result.errors}
    assert "did you mean jobs?" in messages["workflows[0].job"]
    assert "did you mean depends_on?" in messages["workflows[0].jobs[0].depend_on"]


def test_top_level_typo_is_an_error_other_sections_are_warnings() -> None:
    result = parse("componets: []\nlisteners: []\nmcp: {}\n")
    assert [(p.path, p.severity) for p in result.problems] == [
        ("componets", "error"),
        ("listeners", "warning"),
        ("mcp", "warning"),
    ]
    assert "did you mean components?" in result.problems[0].message


def test_literal_job_input_naming_a_field_is_checked() -> None:
    text = (
        "components:\n  - {id: d, type: datasets, path: x}\nworkflows:\n  - id: w\n    jobs:\n"
        "      - id: a\n        component: d\n        input:\n          fraction: 2\n"
    )
    result = parse(text)
    assert [(p.path, p.line) for p in result.errors] == [("workflows[0].jobs[0].input.fraction", 9)]


def test_graph_problems_get_lines() -> None:
    text = (
        "components:\n  - {id: d, type: datasets}\nworkflows:\n  - id: w\n    jobs:\n"
        "      - id: a\n        component: d\n        depends_on: [zz]\n"
    )
    result = parse(text)
    assert [(p.path, p.line) for p in result.errors] == [("workflows[0].jobs[0].depends_on[0]", 8)]


def test_graph_paths_follow_the_singular_workflow_shorthand() -> None:
    text = "component:\n  id: d\n  type: datasets\nworkflow:\n  id: w\n  jobs:\n    - id: a\n      component: x\n"
    result = parse(text)
    assert [(p.path, p.line) for p in result.errors] == [("workflow.jobs[0].component", 8)]


def test_dataset_fraction_bounds() -> None:
    result = parse(
        "components:\n  - {id: d, type: datasets, fraction: 0}\n  - {id: e, type: datasets, fraction: '0.5'}\n"
    )
    assert [p.path for p in result.errors] == ["components[0].fraction"]


def test_messages_speak_yaml_not_python() -> None:
    text = (
        "components:\n  - {id: d, type: datasets}\nworkflows:\n  - id: w\n    jobs:\n"
        "      - id: a\n        component: d\n        input: [1, 2]\n"
    )
    [problem] = parse(text).errors
    assert (problem.path, problem.message) == (
        "workflows[0].jobs[0].input",
        "should be a mapping (key: value) (got [1, 2])",
    )
    [syntax] = parse("components:\n\t- id: x\n").errors
    assert "YAML indents with spaces, not tabs" in syntax.message and syntax.line == 2
