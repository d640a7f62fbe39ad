"""A field that would have no effect is a warning (or an error) at validation, with its
path and line, instead of a run that quietly leaves it out (docs/compose-format.md,
"No field is silently ignored")."""

from __future__ import annotations

import textwrap

import pytest

from compose.inputs import component_values, workflow_inputs
from compose.loader import load_compose, parse


def problems(text: str, severity: str = "warning") -> dict[str, tuple[int, str]]:
    """path -> (line, message) of the problems of one severity."""
    result = parse(textwrap.dedent(text))
    return {p.path: (p.line, p.message) for p in result.problems if p.severity == severity}


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(textwrap.dedent(text).splitlines(), start=1) if needle in line)


FILTER_WITH_LOAD_FIELDS = """\
components:
  - id: ops
    type: datasets
    method: filter
    dataset: ${input.dataset}
    condition: len(output) > 2
    fraction: 0.5
    shuffle: true
    columns: [output]
    template: "{output}"
    direction: horizontal
"""


def test_fields_of_another_operation_on_a_filter_component_are_warnings() -> None:
    found = problems(FILTER_WITH_LOAD_FIELDS)
    for name, owner in [
        ("fraction", "load"),
        ("shuffle", "load"),
        ("columns", "select"),
        ("template", "map"),
        ("direction", "concat"),
    ]:
        line, message = found.pop(f"components[0].{name}")
        assert line == line_of(FILTER_WITH_LOAD_FIELDS, f"    {name}:")
        assert message == f"{name} has no effect on a filter component (only {owner} reads it)"
    assert found == {}
    assert problems(FILTER_WITH_LOAD_FIELDS, "error") == {}


def test_a_shared_component_without_method_is_not_checked_against_one_operation() -> None:
    # The seed's dataset-ops: each job picks the operation with method:.
    assert (
        problems("""\
        components:
          - id: dataset-ops
            type: datasets
            dataset: ${input.dataset}
            condition: ${input.condition}
            template: ${input.template}
        """)
        == {}
    )


def test_a_nested_action_is_checked_against_its_own_method() -> None:
    text = """\
    components:
      - id: ops
        type: datasets
        actions:
          - id: keep-long
            method: filter
            condition: len(output) > 2
            fraction: 0.5
            default: true
          - id: read
            method: load
            path: json
            data_files: ./a.jsonl
    workflows:
      - id: w
        jobs:
          - id: f
            component: ops
            input: {dataset: "${input.dataset}"}
    """
    found = problems(text)
    assert found == {
        "components[0].actions[0].fraction": (
            line_of(text, "fraction:"),
            "fraction has no effect on a filter component (only load reads it)",
        )
    }


SELECT = """\
components:
  - id: sel
    type: datasets
    method: select
    dataset: ${input.dataset}
    axis: rows
    indices: [0, 1]
    columns: [instruction]
"""


def test_columns_with_axis_rows_is_a_warning_and_indices_with_axis_columns_too() -> None:
    assert problems(SELECT) == {
        "components[0].columns": (
            line_of(SELECT, "columns:"),
            "columns has no effect with axis: rows, which keeps the rows listed in indices; "
            "set axis: columns to keep columns",
        )
    }
    flipped = SELECT.replace("axis: rows", "axis: columns")
    assert list(problems(flipped)) == ["components[0].indices"]


def test_select_axis_is_checked_where_the_job_input_takes_part() -> None:
    text = """\
    components:
      - id: dataset-ops
        type: datasets
        dataset: ${input.dataset}
    workflows:
      - id: w
        jobs:
          - id: rows-and-columns
            component: dataset-ops
            method: select
            input: {axis: rows, indices: [0], columns: [output]}
          - id: default-axis
            component: dataset-ops
            method: select
            input:
              indices: [0]
              columns: [output]
          - id: columns-only
            component: dataset-ops
            method: select
            input: {axis: columns, columns: [output]}
    """
    found = problems(text)
    assert set(found) == {"workflows[0].jobs[0].input.columns", "workflows[0].jobs[1].input.columns"}
    assert found["workflows[0].jobs[1].input.columns"] == (
        line_of(text, "          columns: [output]"),
        "columns has no effect with axis: rows (the default), which keeps the rows listed in indices; "
        "set axis: columns to keep columns",
    )
    # The axis of the job, the columns of the component: reported at the job's axis.
    text2 = """\
    components:
      - id: sel
        type: datasets
        dataset: ${input.dataset}
        columns: [output]
    workflows:
      - id: w
        jobs:
          - id: s
            component: sel
            method: select
            input: {axis: rows, indices: [0]}
    """
    assert list(problems(text2)) == ["workflows[0].jobs[0].input.axis"]


LOCAL_WITH_HUB_FIELDS = """\
components:
  - id: local
    type: datasets
    provider: local
    loader: json
    data_files: ./data/train.jsonl
    revision: main
    token: ${env.HF_TOKEN}
    name: default
    trust_remote_code: true
    seed: 7
"""


def test_hub_only_fields_and_a_seed_without_shuffle_on_a_local_load_are_warnings() -> None:
    found = problems(LOCAL_WITH_HUB_FIELDS)
    for name in ("revision", "token", "name", "trust_remote_code"):
        line, message = found.pop(f"components[0].{name}")
        assert line == line_of(LOCAL_WITH_HUB_FIELDS, f"    {name}:")
        assert message.startswith(f"{name} has no effect on a load of local files")
    assert found == {
        "components[0].seed": (
            line_of(LOCAL_WITH_HUB_FIELDS, "seed:"),
            "seed has no effect without shuffle: true (it only orders the shuffle)",
        )
    }
    # The same fields on a hub load (the seed's §9.2.2 advanced block) pass them on: no warning.
    hub = LOCAL_WITH_HUB_FIELDS.replace(
        "provider: local\n    loader: json\n    data_files: ./data/train.jsonl",
        "provider: huggingface\n    path: tatsu-lab/alpaca",
    )
    assert list(problems(hub)) == ["components[0].seed"]
    assert problems(hub.replace("    seed: 7", "    seed: 7\n    shuffle: true")) == {}


def test_a_local_path_beside_data_dir_is_an_error() -> None:
    text = """\
    components:
      - id: local
        type: datasets
        provider: local
        path: ./data
        data_dir: ./other
    """
    assert problems(text, "error") == {
        "components[0].data_dir": (
            line_of(text, "data_dir:"),
            "a local load reads one folder: give path or data_dir, not both",
        )
    }


def test_a_jobs_path_replaces_the_components_data_files() -> None:
    # The seed's §9.2.4 merge of two loads through one loader, with a local loader.
    doc = load_compose("""\
        components:
          - id: dataset-loader
            type: datasets
            provider: local
            loader: json
            data_files: ${input.files | ./data/a.jsonl}
        workflows:
          - id: merge
            jobs:
              - id: load-first
                component: dataset-loader
                input: {path: ./data/a.jsonl}
              - id: load-second
                component: dataset-loader
                input: {path: ./data/b.jsonl}
              - id: own-files
                component: dataset-loader
                input: {path: ./data, data_files: [b.jsonl]}
        """)
    component = doc.component("dataset-loader")
    first, second, own = doc.workflows[0].jobs
    assert component_values(component, second)[0] == {"provider": "local", "loader": "json"}
    assert "data_files" in component_values(component, own)[0]  # the job's own data_files stand
    assert component_values(component, first)[0] == {"provider": "local", "loader": "json"}
    # No job reads the component's data_files, so the run form does not ask for ${input.files}.
    assert workflow_inputs(doc, "merge") == []


TRAINER = """\
components:
  - id: trainer
    type: model-trainer
    task: {task}
    peft_adapter: lora
    lora_target_modules: {targets}
"""


def test_lm_head_among_lora_targets_is_trained_in_full_with_a_warning() -> None:
    text = TRAINER.format(task="sft", targets="[q_proj, v_proj, lm_head]")
    line, message = problems(text)["components[0].lora_target_modules"]
    assert line == line_of(text, "lora_target_modules")
    assert "lm_head is trained in full beside the LoRA adapter (PEFT's modules_to_save)" in message
    assert problems(text, "error") == {}


@pytest.mark.parametrize(
    "task, targets, words",
    [
        ("sft", "[lm_head]", "lm_head alone leaves LoRA nothing to adapt"),
        ("classification", "[query, lm_head]", "a classifier has none"),
    ],
)
def test_lm_head_alone_or_on_a_classifier_is_an_error(task: str, targets: str, words: str) -> None:
    text = TRAINER.format(task=task, targets=targets)
    line, message = problems(text, "error")["components[0].lora_target_modules"]
    assert line == line_of(text, "lora_target_modules") and words in message


def trainer(body: str) -> str:
    return "components:\n  - id: trainer\n    type: model-trainer\n    task: sft\n" + textwrap.indent(
        textwrap.dedent(body), "    "
    )


@pytest.mark.parametrize(
    "body, path, words",
    [
        ("lr_scheduler_type: cosine_with_restarts\n", "lr_scheduler_type", "runs one cycle and never restarts"),
        (
            "lr_scheduler_type: cosine_with_restarts\nlr_scheduler_kwargs: {power: 2}\n",
            "lr_scheduler_type",
            "set num_cycles",
        ),
        ("lr_scheduler_type: constant\nwarmup_steps: 10\n", "warmup_steps", "use constant_with_warmup"),
        ("lr_scheduler_type: reduce_lr_on_plateau\nwarmup_steps: 10\n", "warmup_steps", "has no warmup"),
        ("optimizer: lomo\nmax_grad_norm: 0.5\n", "max_grad_norm", "no gradients left to clip"),
        ("optimizer: lomo\ngradient_accumulation_steps: 4\n", "gradient_accumulation_steps", "every micro-batch"),
        ("optimizer: lomo\nweight_decay: 0.01\n", "weight_decay", "does not pass it on"),
        (
            "optimizer: adamw_torch\noptimizer_args: {momentum: 0.9}\n",
            "optimizer_args",
            "momentum has no effect with optimizer adamw_torch (it reads none)",
        ),
        (
            "optimizer: sgd\noptimizer_args: {momentum: 0.9, betas: 1}\n",
            "optimizer_args",
            "betas has no effect with optimizer sgd (it reads momentum, dampening, weight_decay, nesterov)",
        ),
        ("optim_target_modules: [q_proj]\n", "optim_target_modules", "only galore_adamw and galore_adamw_8bit"),
        ("label_column: y\n", "label_column", "no effect with task: sft"),
        ("resources: {launcher: accelerate}\n", "resources", "resources.launcher has no effect"),
        ("resources: {gpus: 1, processes: 4}\n", "resources", "resources.processes has no effect with gpus"),
    ],
)
def test_trainer_settings_that_would_be_ignored_are_warnings(body: str, path: str, words: str) -> None:
    text = trainer(body)
    found = problems(text)
    line, message = found[f"components[0].{path}"]
    assert words in message
    assert line == line_of(text, path.split(".")[0] + ":")


def test_chat_template_on_a_classifier_is_a_warning() -> None:
    text = trainer("chat_template: '{{ messages }}'\n").replace("task: sft", "task: classification")
    assert "chat_template has no effect on classification training" in problems(text)["components[0].chat_template"][1]


@pytest.mark.parametrize(
    "body",
    [
        "lr_scheduler_type: cosine_with_restarts\nlr_scheduler_kwargs: {num_cycles: 3}\n",
        "lr_scheduler_type: constant_with_warmup\nwarmup_steps: 10\n",
        "optimizer: sgd\noptimizer_args: {momentum: 0.9, nesterov: true}\n",
        "optimizer: galore_adamw\noptim_target_modules: [q_proj]\noptimizer_args: {rank: 4}\n",
        "optimizer: lomo\n",
        "resources: {gpus: 0, processes: 2, launcher: accelerate}\n",
        # Bound values may turn out either way: the reading that reports less.
        "optimizer: ${input.optimizer}\noptim_target_modules: [q_proj]\noptimizer_args: {rank: 4}\n",
        "lr_scheduler_type: ${input.scheduler}\nwarmup_steps: 10\n",
        "lr_scheduler_type: cosine_with_restarts\nlr_scheduler_kwargs: ${input.kwargs}\n",
    ],
)
def test_settings_that_take_effect_are_not_warned_about(body: str) -> None:
    assert problems(trainer(body)) == {}
    assert problems(trainer(body), "error") == {}


def test_bound_select_axis_and_method_are_not_warned_about() -> None:
    assert (
        problems("""\
        components:
          - id: sel
            type: datasets
            method: ${input.method}
            axis: ${input.axis}
            indices: [0]
            columns: [output]
            fraction: 0.5
        """)
        == {}
    )
