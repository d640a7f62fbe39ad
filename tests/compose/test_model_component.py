"""``type: model`` components: both dialects, located problems, export, and confined paths."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from compose.engine import JobConfigError, build_job_spec
from compose.exporter import export_yaml
from compose.loader import load_compose, parse
from compose.schema.workflow import ComponentDoc, ComposeFile, Job, Workflow

SEED = textwrap.dedent("""\
    components:
      - id: answer
        type: model
        task: text-generation
        model: ./base
        peft_adapters:
          - {type: lora, name: tuned, model: ./adapter, weight: 0.5}
        precision: bfloat16
        device: cpu
        max_seq_length: 512
        prompt: "Question: {question} Answer:"
        dataset: ${input.rows}
        batch_size: 4
        max_output_length: 32
        do_sample: true
        temperature: 0.7
        stop_sequences: ["\\n"]
    workflows:
      - id: w
        jobs:
          - {id: answer, component: answer}
    """)

NESTED = textwrap.dedent("""\
    components:
      - id: answer
        type: model
        task: text-generation
        model: ./base
        peft_adapters:
          - {type: lora, name: tuned, model: ./adapter, weight: 0.5}
        precision: bfloat16
        device: cpu
        max_seq_length: 512
        action:
          prompt: "Question: {question} Answer:"
          dataset: ${input.rows}
          batch_size: 4
          params:
            max_output_length: 32
            do_sample: true
            temperature: 0.7
            stop_sequences: ["\\n"]
    workflows:
      - id: w
        jobs:
          - {id: answer, component: answer}
    """)


def test_both_dialects_read_into_the_same_component():
    seed, nested = load_compose(SEED), load_compose(NESTED)
    assert seed == nested
    fields = seed.components[0].fields
    assert fields["temperature"] == 0.7 and fields["peft_adapters"][0]["weight"] == 0.5


def test_export_writes_each_dialect_and_reads_back_the_same():
    doc = load_compose(SEED)
    nested = export_yaml(doc, "nested")
    assert "action:" in nested and "params:" in nested
    assert load_compose(nested) == doc
    assert load_compose(export_yaml(load_compose(NESTED), "seed")) == doc
    assert export_yaml(load_compose(NESTED), original=NESTED) == NESTED


def problems(text: str) -> list[tuple[str, int, str]]:
    return [(p.path, p.line, p.message) for p in parse(text).errors]


def test_problems_are_collected_with_their_lines_in_the_seed_dialect():
    found = problems(
        textwrap.dedent("""\
        components:
          - id: answer
            type: model
            task: text-generation
            model: ./base
            peft_adapters:
              - {type: lora, model: ./a, weight: 2}
            precision: float8
            device: tpu
            prompt: hi
            text: also
            temperature: 0
            max_output_length: many
        """)
    )
    assert [(path, line) for path, line, _ in found] == [
        ("components[0].peft_adapters[0].weight", 7),
        ("components[0].precision", 8),
        ("components[0].device", 9),
        ("components[0].text", 11),
        ("components[0].temperature", 12),
        ("components[0].max_output_length", 13),
    ]
    messages = dict((path, message) for path, _, message in found)
    assert "should be less than or equal to 1" in messages["components[0].peft_adapters[0].weight"]
    assert "unknown precision 'float8'" in messages["components[0].precision"]
    assert "device 'tpu': use cpu, cuda or cuda:N" in messages["components[0].device"]
    assert messages["components[0].text"] == "text is not read by task text-generation, which reads prompt"


def test_problems_are_collected_with_their_lines_in_the_nested_dialect():
    found = problems(
        textwrap.dedent("""\
        components:
          - id: answer
            type: model
            task: chat-completion
            model: {provider: huggingface, repository: org/base, path: ./base}
            quantization: {type: nf4, double_quant: true}
            action:
              messages:
                - {role: user, content: hi, name: x}
              params:
                top_q: 0.5
                num_return_sequences: 3
              output: ${response.message.content}
        """)
    )
    assert [(path, line) for path, line, _ in found] == [
        ("components[0].model", 5),
        ("components[0].quantization.double_quant", 6),
        ("components[0].action.messages", 8),
        ("components[0].action.params.top_q", 11),
        ("components[0].action.params.num_return_sequences", 12),
        ("components[0].action.output", 13),
    ]
    messages = dict((path, message) for path, _, message in found)
    assert "path is for provider: local" in messages["components[0].model"]
    assert "did you mean top_p?" in messages["components[0].action.params.top_q"]
    assert "messages[0]: expected {role, content}" in messages["components[0].action.messages"]
    assert "the job's output" in messages["components[0].action.output"]


def test_a_task_and_an_input_are_required():
    found = problems(
        "components:\n  - {id: a, type: model, model: ./m}\n"
        "  - {id: b, type: model, task: text-classification, model: ./m}\n"
    )
    assert [(path, line, message.split(":")[0]) for path, line, message in found] == [
        ("components[0]", 2, "task is required"),
        ("components[1]", 3, "task text-classification needs text"),
    ]


def test_sampling_settings_without_sampling_are_warned_about():
    warned = parse(
        "components:\n  - {id: a, type: model, task: text-generation, model: ./m, prompt: x,\n     top_k: 5}\n"
    ).warnings
    assert [(p.path, p.line) for p in warned] == [("components[0].top_k", 3)]


# --- paths --------------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    base = tmp_path / "ws"
    (base / "base").mkdir(parents=True)
    (base / "adapter").mkdir()
    (tmp_path / "outside").mkdir()
    return base


def spec_for(base: Path, env: dict[str, str] | None = None, **fields):
    values = {"task": "text-generation", "model": "./base", "prompt": "hi", **fields}
    component = ComponentDoc(id="c", type="model", fields={k: v for k, v in values.items() if v is not None})
    doc = ComposeFile(components=[component], workflows=[Workflow(id="w", jobs=[Job(id="j", component="c")])])
    workflow = doc.workflows[0]
    return build_job_spec(
        doc,
        workflow,
        workflow.jobs[0],
        inputs={},
        job_outputs={},
        env=env or {},
        run_id="r",
        base_dir=base,
        storage_dir=base / "storage",
    )


def test_model_and_adapter_paths_are_made_absolute_inside_the_workspace(workspace: Path):
    made = spec_for(
        workspace,
        model={"provider": "local", "path": "base"},
        peft_adapters=[
            {"model": "./adapter"},
            {"model": {"provider": "local", "path": "adapter"}},
            {"model": "someone/hub-adapter"},
        ],
    )
    assert made.config["model"]["path"] == str(workspace / "base")
    adapters = made.config["peft_adapters"]
    assert adapters[0]["model"] == str(workspace / "adapter")
    assert adapters[1]["model"]["path"] == str(workspace / "adapter")
    assert adapters[2]["model"] == "someone/hub-adapter"  # a hub id, left to the runner's cache rule


HOSTILE = ["../outside", "/etc", "~/.ssh", "base/../../outside"]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("where", ["model", "model.path", "peft_adapters[0].model", "peft_adapters[0].model.path"])
def test_every_model_path_refuses_a_path_out_of_the_workspace(workspace: Path, where: str, value: str):
    fields = _placed(where, value)
    with pytest.raises(JobConfigError) as caught:
        spec_for(workspace, **fields)
    assert caught.value.path == f"components[0].{where}"
    assert "outside the workspace" in caught.value.message or "leaves the folder" in caught.value.message


@pytest.mark.parametrize(
    "where", ["model", "model.path", "peft_adapters[0].model", "peft_adapters[0].model.path", "model.repository"]
)
def test_every_model_path_refuses_a_symlink_out_of_the_workspace(workspace: Path, where: str):
    (workspace / "link").symlink_to(workspace.parent / "outside")
    with pytest.raises(JobConfigError, match="symbolic link"):
        spec_for(workspace, **_placed(where, "./link"))


def _placed(where: str, value: str) -> dict:
    if where == "model":
        return {"model": value}
    if where == "model.path":
        return {"model": {"provider": "local", "path": value}}
    if where == "model.repository":
        return {"model": {"provider": "huggingface", "repository": value}}
    if where == "peft_adapters[0].model":
        return {"peft_adapters": [{"model": value}]}
    return {"peft_adapters": [{"model": {"provider": "local", "path": value}}]}


@pytest.mark.parametrize(
    "name,value",
    [
        ("prompt", "Q: ${env.TOKEN}"),
        ("text", "${env.TOKEN}"),
        ("messages", [{"role": "user", "content": "${env.TOKEN}"}]),
    ],
)
def test_a_template_the_job_renders_may_not_read_the_environment(workspace: Path, name: str, value):
    task = {"prompt": "text-generation", "text": "text-classification", "messages": "chat-completion"}[name]
    with pytest.raises(JobConfigError, match=r"reads \$\{env\.\*\}") as caught:
        spec_for(workspace, env={"TOKEN": "sk-live-0123456789"}, **{"task": task, "prompt": None, name: value})
    assert caught.value.path == f"components[0].{name}"
    assert "sk-live" not in str(caught.value)


def test_an_edit_keeps_the_nested_layout_and_everything_else_as_written():
    from compose.exporter import set_field

    edited = set_field(NESTED, "components[0].top_k", 5)
    assert edited == NESTED.replace(
        '        stop_sequences: ["\\n"]\n', '        stop_sequences: ["\\n"]\n        top_k: 5\n'
    )
    assert load_compose(edited).components[0].fields["top_k"] == 5
    moved = set_field(NESTED, "components[0].temperature", 0.2)
    assert "        temperature: 0.2\n" in moved and moved.count("temperature") == 1
