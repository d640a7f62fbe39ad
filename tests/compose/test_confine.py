"""Every path-valued field of every component stays inside the workspace, symlinks followed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compose.confine import PathOutside, confine
from compose.engine import EVALUATED_FIELDS, PATH_FIELDS, JobConfigError, build_job_spec
from compose.schema.components import COMPONENT_TYPES
from compose.schema.workflow import ComponentDoc, ComposeFile, Job, Workflow

# String-valued fields that name no file or folder. A new string field must be listed
# here or marked as a path in the schema: an unclassified one fails this test.
NOT_PATHS: dict[str, set[str]] = {
    "datasets": {
        "id",
        "type",
        "method",
        "provider",
        "name",
        "split",
        "revision",
        "token",
        "loader",
        "direction",
        "axis",
        "condition",
        "template",
        "output_column",
        "columns",
        "remove_columns",
    },
    "model-trainer": {
        "id",
        "type",
        "task",
        "text_column",
        "prompt_column",
        "response_column",
        "system_column",
        "text_pair_column",
        "label_column",
        "optimizer",
        "lr_scheduler_type",
        "peft_adapter",
        "lora_bias",
        "quantization",
        "bnb_4bit_compute_dtype",
        "optim_target_modules",
        "lora_target_modules",
        "optimizer_args",
        "lr_scheduler_kwargs",
    },
    "model": {
        "id",
        "type",
        "task",
        "precision",
        "quantization",
        "device",
        "prompt",
        "text",
        "messages",
        "stop_sequences",
    },
}
# A value a job reads must exist: these stand in for each field's kind.
HOSTILE = ["../../secrets-key.txt", "/etc/passwd", "~/.ssh/id_rsa", "sub/../../x"]


def string_fields(model) -> set[str]:
    out = set()
    for name, info in model.model_fields.items():
        text = str(info.annotation)
        if "str" in text:
            out.add(name)
    return out


def doc_with(ctype: str, name: str, value) -> ComposeFile:
    fields = {"dataset-loader": {}}
    if ctype == "datasets":
        fields = {"provider": "local", "loader": "json", "data_files": "ok.jsonl", name: value}
        if name in ("path", "data_dir"):
            fields.pop("data_files")
    elif ctype == "model":
        fields = {"task": "text-generation", "model": "./model", "prompt": "hi", name: value}
    else:
        fields = {"task": "sft", "model": "./model", name: value}
    component = ComponentDoc(id="c", type=ctype, fields=fields)
    return ComposeFile(components=[component], workflows=[Workflow(id="w", jobs=[Job(id="j", component="c")])])


def spec(doc: ComposeFile, base: Path, **kw):
    workflow = doc.workflows[0]
    return build_job_spec(
        doc,
        workflow,
        workflow.jobs[0],
        inputs={},
        job_outputs={},
        env={},
        run_id="r",
        base_dir=base,
        storage_dir=base / "storage",
        **kw,
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    base = tmp_path / "ws"
    base.mkdir()
    (base / "ok.jsonl").write_text('{"a": 1}\n')
    (base / "model").mkdir()
    (tmp_path / "secrets-key.txt").write_text("key")
    (tmp_path / "x").write_text("x")
    return base


@pytest.mark.parametrize("ctype", sorted(COMPONENT_TYPES))
def test_every_string_field_is_classified_as_a_path_or_not(ctype):
    model = COMPONENT_TYPES[ctype]
    unclassified = string_fields(model) - set(PATH_FIELDS[ctype]) - NOT_PATHS[ctype]
    assert not unclassified, f"mark these {ctype} fields with _path(...) in the schema, or list them here"


def test_the_known_path_fields_come_from_the_schema():
    assert set(PATH_FIELDS["datasets"]) == {"path", "data_files", "data_dir", "cache_dir"}
    assert set(PATH_FIELDS["model-trainer"]) == {
        "model",
        "tokenizer",
        "chat_template",
        "output_dir",
        "resume_from_checkpoint",
    }


@pytest.mark.parametrize(
    "ctype,name", [(ctype, name) for ctype in sorted(PATH_FIELDS) for name in sorted(PATH_FIELDS[ctype])]
)
@pytest.mark.parametrize("value", HOSTILE)
def test_every_path_field_refuses_a_path_out_of_the_workspace(workspace, ctype, name, value):
    with pytest.raises(JobConfigError) as caught:
        spec(doc_with(ctype, name, value), workspace)
    assert caught.value.path.endswith(f".{name}")
    assert "outside the workspace" in caught.value.message or "leaves the folder" in caught.value.message


@pytest.mark.parametrize(
    "ctype,name", [(ctype, name) for ctype in sorted(PATH_FIELDS) for name in sorted(PATH_FIELDS[ctype])]
)
def test_every_path_field_refuses_a_symlink_out_of_the_workspace(workspace, ctype, name):
    outside = workspace.parent / "elsewhere"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (workspace / "link").symlink_to(outside)
    with pytest.raises(JobConfigError, match="symbolic link"):
        spec(doc_with(ctype, name, "./link/secret.txt"), workspace)


def test_chat_template_file_outside_is_refused_and_inline_jinja_is_kept(workspace):
    # The reported case: a trainer saved the server's key as its chat template.
    with pytest.raises(JobConfigError, match="leaves the folder"):
        spec(doc_with("model-trainer", "chat_template", "../../secrets-key.txt"), workspace)
    with pytest.raises(JobConfigError, match="outside the workspace"):
        spec(doc_with("model-trainer", "chat_template", str(workspace.parent / "secrets-key.txt")), workspace)
    jinja = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    assert spec(doc_with("model-trainer", "chat_template", jinja), workspace).config["chat_template"] == jinja
    (workspace / "chat.jinja").write_text(jinja)
    made = spec(doc_with("model-trainer", "chat_template", "chat.jinja"), workspace)
    assert made.config["chat_template"] == str(workspace / "chat.jinja")


def test_a_confined_spec_names_its_roots_and_the_cli_spec_none(workspace):
    doc = doc_with("datasets", "data_files", "ok.jsonl")
    assert spec(doc, workspace).roots == [str(workspace.resolve())]
    assert spec(doc, workspace, allow_absolute_paths=True).roots == []


def test_a_default_model_outside_the_workspace_is_a_root_of_its_job(workspace, tmp_path):
    models = tmp_path / "models" / "tiny"
    models.mkdir(parents=True)
    doc = doc_with("model-trainer", "output_dir", "./out")
    doc.components[0].fields.pop("model")
    made = spec(doc, workspace, default_models={"sft": str(models)})
    assert made.config["model"] == str(models)
    assert made.roots == [str(workspace.resolve()), str(models)]


@pytest.mark.parametrize("name", sorted(EVALUATED_FIELDS["datasets"]))
def test_expressions_and_templates_may_not_read_the_environment(workspace, name):
    value = (
        {"column": "text", "operator": "eq", "value": "${env.TOKEN}"}
        if name == "where"
        else 'len(text) > int("${env.TOKEN}"[1:])'
    )
    component = ComponentDoc(
        id="c",
        type="datasets",
        fields={"method": "filter" if name != "template" else "map", "dataset": "${input.d}", name: value},
    )
    doc = ComposeFile(components=[component], workflows=[Workflow(id="w", jobs=[Job(id="j", component="c")])])
    workflow = doc.workflows[0]
    with pytest.raises(JobConfigError, match=r"reads \$\{env\.\*\}") as caught:
        build_job_spec(
            doc,
            workflow,
            workflow.jobs[0],
            inputs={"d": {"type": "dataset", "path": "datasets/x"}},
            job_outputs={},
            env={"TOKEN": "sk-live-0123456789"},
            run_id="r",
            base_dir=workspace,
            storage_dir=workspace / "s",
        )
    assert caught.value.path == f"components[0].{name}"
    assert "sk-live" not in str(caught.value)


def test_confine_follows_symlinks_and_keeps_relative_paths_inside(tmp_path):
    base = tmp_path / "base"
    (base / "d").mkdir(parents=True)
    (base / "up").symlink_to(tmp_path)
    assert confine("d", base, roots=[base]) == (base / "d").resolve()
    with pytest.raises(PathOutside, match="symbolic link"):
        confine("up/x", base, roots=[base])
    with pytest.raises(PathOutside, match="leaves the folder"):
        confine("../x", base, allow_absolute=True)
    assert confine("/etc", base, allow_absolute=True) == Path(os.path.realpath("/etc"))
    with pytest.raises(PathOutside, match="outside the workspace"):
        confine("/etc", base, roots=[base], allow_absolute=True)
