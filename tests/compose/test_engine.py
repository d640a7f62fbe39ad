"""The engine: job graph walk, bindings per job, JobSpecs, failure and cancel (SPEC §3-4)."""

import json
import threading
import time

import pytest

from compose import events
from compose.engine import (
    JobConfigError,
    WorkflowCancelled,
    WorkflowFailed,
    build_job_spec,
    preflight,
    run_workflow,
)
from compose.errors import ComposeError
from compose.inputs import workflow_inputs
from compose.jobspec import JobCancelled, JobFailed
from compose.schema.workflow import ComponentDoc, ComposeFile, Job, Workflow


def dataset_ref(name, rows=3):
    return {
        "type": "dataset",
        "fingerprint": name * 8,
        "path": f"datasets/{name}",
        "num_rows": rows,
        "columns": {"text": "string"},
        "preview": [],
        "sft_format": "text",
        "reused": False,
    }


class RecordingExecutor:
    """Answers each job from a function of its spec, recording every spec it gets."""

    def __init__(self, answer=None):
        self.specs = []
        self.answer = answer or (lambda spec, cancel: dataset_ref(spec.job_id))
        self.lock = threading.Lock()

    def execute(self, spec, on_event, cancel):
        with self.lock:
            self.specs.append(spec)
        on_event(events.status(spec.job_id, "running"))
        value = self.answer(spec, cancel)
        on_event(events.output(spec.job_id, value))
        return value

    def spec(self, job_id):
        return next(s for s in self.specs if s.job_id == job_id)


LOADER = ComponentDoc(
    id="dataset-loader",
    type="datasets",
    fields={"provider": "huggingface", "path": "tatsu-lab/alpaca", "split": "train", "token": "${env.HF_TOKEN}"},
)
OPS = ComponentDoc(id="dataset-ops", type="datasets", fields={})
TRAINER = ComponentDoc(
    id="trainer",
    type="model-trainer",
    fields={
        "task": "sft",
        "dataset": "${input.dataset}",
        "text_column": "text",
        "learning_rate": "5e-5",
        "output_dir": "./output/model",
    },
)


def merge_doc():
    return ComposeFile(
        components=[LOADER, OPS, TRAINER],
        workflows=[
            Workflow(
                id="merge-datasets",
                jobs=[
                    Job(
                        id="load-first",
                        component="dataset-loader",
                        input={"path": "tatsu-lab/alpaca", "split": "train"},
                    ),
                    Job(id="load-second", component="dataset-loader", input={"path": "yahma/alpaca-cleaned"}),
                    Job(
                        id="concat",
                        component="dataset-ops",
                        method="concat",
                        input={"datasets": ["${jobs.load-first.output}", "${jobs.load-second.output}"]},
                        depends_on=["load-first", "load-second"],
                    ),
                ],
            )
        ],
    )


def run(doc, executor, tmp_path, inputs=None, workflow_id=None, **kw):
    collected = kw.pop("collected", [])
    kw.setdefault("env", {})
    return run_workflow(
        doc,
        workflow_id,
        inputs or {},
        executor=executor,
        base_dir=tmp_path,
        storage_dir=tmp_path / "storage",
        run_id="run-1",
        on_event=collected.append,
        cancel=kw.pop("cancel", threading.Event()),
        **kw,
    )


def test_seed_merge_runs_loads_together_and_passes_datasets_natively(tmp_path):
    both_running = threading.Barrier(2, timeout=5)

    def answer(spec, cancel):
        if spec.job_id.startswith("load"):
            both_running.wait()  # fails unless the two loads run at the same time
        return dataset_ref(spec.job_id)

    executor = RecordingExecutor(answer)
    result = run(merge_doc(), executor, tmp_path, env={"HF_TOKEN": "hf_abc"})
    first, second, concat = (executor.spec(j) for j in ("load-first", "load-second", "concat"))
    # the job's input overrides the component's path; defaults come from the canonical model
    assert (first.config["path"], second.config["path"]) == ("tatsu-lab/alpaca", "yahma/alpaca-cleaned")
    assert first.config["fraction"] == 1.0 and first.config["shuffle"] is False
    assert first.method == "load" and concat.method == "concat"
    assert concat.config["datasets"] == [dataset_ref("load-first"), dataset_ref("load-second")]
    assert concat.config["method"] == "concat"
    assert result == dataset_ref("concat")  # the only job nothing depends on
    # ${env.HF_TOKEN} is read at run time and becomes a secret of the spec
    assert first.config["token"] == "hf_abc"
    assert first.secrets == ["hf_abc"] and first.env == {"HF_TOKEN": "hf_abc"}
    assert concat.secrets == [] and concat.env == {}
    assert first.run_id == "run-1" and first.storage_dir == str((tmp_path / "storage").resolve())


def test_unset_env_leaves_the_token_empty_with_a_warning(tmp_path):
    executor, collected = RecordingExecutor(), []
    run(merge_doc(), executor, tmp_path, collected=collected)
    assert executor.spec("load-first").config["token"] is None
    warnings = [e for e in collected if e["type"] == "log" and e["level"] == "warning"]
    assert warnings and "HF_TOKEN is not set" in warnings[0]["message"]


def test_input_default_and_given_input(tmp_path):
    doc = ComposeFile(
        components=[LOADER],
        workflows=[
            Workflow(
                id="load-training-data",
                jobs=[
                    Job(
                        id="load",
                        component="dataset-loader",
                        input={"path": "${input.dataset | tatsu-lab/alpaca}", "split": "train", "fraction": "1.0"},
                    )
                ],
            )
        ],
    )
    executor = RecordingExecutor()
    run(doc, executor, tmp_path)
    assert executor.spec("load").config["path"] == "tatsu-lab/alpaca"
    executor = RecordingExecutor()
    run(doc, executor, tmp_path, inputs={"dataset": "yahma/alpaca-cleaned"})
    assert executor.spec("load").config["path"] == "yahma/alpaca-cleaned"


def trainer_doc(**trainer_fields):
    trainer = ComponentDoc(id="trainer", type="model-trainer", fields={**TRAINER.fields, **trainer_fields})
    return ComposeFile(
        components=[LOADER, trainer],
        workflows=[
            Workflow(
                id="train",
                jobs=[
                    Job(id="load", component="dataset-loader"),
                    Job(id="train", component="trainer", input={"dataset": "${jobs.load.output}"}, depends_on=["load"]),
                ],
            )
        ],
    )


def test_trainer_spec_gets_the_dataset_defaults_and_the_default_model(tmp_path):
    executor = RecordingExecutor(
        lambda spec, cancel: (
            dataset_ref("d")
            if spec.job_id == "load"
            else {"type": "model", "output_dir": spec.config["output_dir"], "global_step": 2}
        )
    )
    result = run(trainer_doc(), executor, tmp_path, default_models={"sft": "/models/tiny"})
    spec = executor.spec("train")
    assert spec.method == "train" and spec.component_type == "model-trainer"
    assert spec.config["dataset"] == dataset_ref("d")
    assert spec.config["learning_rate"] == 5e-5  # "5e-5" from YAML, as a number
    assert spec.config["model"] == "/models/tiny"
    assert spec.config["output_dir"] == str((tmp_path / "output" / "model").resolve())
    assert spec.config["per_device_train_batch_size"] == 8  # the canonical default
    assert "method" not in spec.config
    assert result["global_step"] == 2
    json.loads(spec.to_json())


def test_each_job_reports_the_config_it_starts_with_secrets_masked_data_sets_summarized(tmp_path):
    executor, collected = (
        RecordingExecutor(lambda spec, cancel: dataset_ref("d") if spec.job_id == "load" else {"type": "model"}),
        [],
    )
    run(
        trainer_doc(),
        executor,
        tmp_path,
        env={"HF_TOKEN": "hf_abc"},
        default_models={"sft": "/models/tiny"},
        collected=collected,
    )
    configs = {e["job"]: e["values"] for e in collected if e["type"] == "config"}
    assert configs["load"]["token"] == "***" and "hf_abc" not in json.dumps(collected)
    assert configs["train"]["model"] == "/models/tiny"  # the default the job got
    assert configs["train"]["dataset"] == {
        key: dataset_ref("d")[key] for key in ("type", "fingerprint", "path", "num_rows", "sft_format")
    }
    # sent before the job's own first event
    order = [(e["type"], e["job"]) for e in collected]
    assert order.index(("config", "train")) < order.index(("status", "train"))


def test_values_read_from_the_environment_are_masked_whatever_shape_they_take(tmp_path):
    loader = ComponentDoc(
        id="dataset-loader",
        type="datasets",
        fields={
            "provider": "local",
            "loader": "json",
            "data_files": "${env.FILES as json}",
            "seed": "${env.SEED}",
            "split": "${input.which}",
            "path": "Qwen2.5-1.5B",
        },
    )
    doc = ComposeFile(
        components=[loader],
        workflows=[
            Workflow(id="w", jobs=[Job(id="load", component="dataset-loader", input={"which": "${env.SPLIT}"})])
        ],
    )
    collected = []
    env = {"FILES": '{"train": "s3://AKIAEXAMPLE:verysecret@b/x"}', "SEED": "31337", "SPLIT": "train", "ONE": "1"}
    run(doc, RecordingExecutor(), tmp_path, env=env, collected=collected, secrets=["1"])
    shown = next(e["values"] for e in collected if e["type"] == "config")
    assert "verysecret" not in json.dumps(collected) and "31337" not in json.dumps(shown)
    assert shown["data_files"] == shown["seed"] == shown["split"] == "***"  # split: through the job's input
    assert shown["path"] == "Qwen2.5-1.5B"  # a one-character value is not masked inside other text


def test_trainer_without_model_or_default_is_refused_before_any_job(tmp_path):
    executor = RecordingExecutor()
    with pytest.raises(ComposeError) as caught:
        run(trainer_doc(), executor, tmp_path)
    (problem,) = caught.value.problems
    assert problem.path == "components[1].model"
    assert "no base model" in problem.message and "`sft`" in problem.message
    assert executor.specs == []
    assert preflight(trainer_doc(), None, {}, default_models={"sft": "x"}) == []
    assert preflight(trainer_doc(model="org/base"), None, {}) == []


def test_missing_and_badly_typed_inputs_are_refused_before_any_job(tmp_path):
    doc = ComposeFile(
        components=[LOADER],
        workflows=[
            Workflow(
                id="w",
                jobs=[
                    Job(
                        id="load",
                        component="dataset-loader",
                        input={"path": "${input.dataset}", "fraction": "${input.fraction | 1.0}"},
                    )
                ],
            )
        ],
    )
    executor = RecordingExecutor()
    with pytest.raises(ComposeError) as caught:
        run(doc, executor, tmp_path, inputs={"fraction": "most"})
    paths = sorted(p.path for p in caught.value.problems)
    assert paths == ["inputs.dataset", "inputs.fraction"]
    assert executor.specs == []


def test_graph_errors_are_refused(tmp_path):
    doc = ComposeFile(
        components=[LOADER],
        workflows=[
            Workflow(
                id="w",
                jobs=[
                    Job(id="a", component="dataset-loader", depends_on=["b"]),
                    Job(id="b", component="dataset-loader", depends_on=["a"]),
                ],
            )
        ],
    )
    with pytest.raises(ComposeError, match="loop"):
        run(doc, RecordingExecutor(), tmp_path)


def test_failing_job_cancels_running_siblings_and_keeps_finished_outputs(tmp_path):
    doc = ComposeFile(
        components=[LOADER, OPS],
        workflows=[
            Workflow(
                id="w",
                jobs=[
                    Job(id="quick", component="dataset-loader"),
                    Job(id="slow", component="dataset-loader"),
                    Job(id="broken", component="dataset-loader", depends_on=["quick"]),
                    Job(
                        id="after",
                        component="dataset-ops",
                        method="concat",
                        depends_on=["slow", "broken"],
                        input={"datasets": ["${jobs.slow.output}", "${jobs.broken.output}"]},
                    ),
                ],
            )
        ],
    )
    slow_was_cancelled = threading.Event()

    def answer(spec, cancel):
        if spec.job_id == "slow":
            if cancel.wait(10):
                slow_was_cancelled.set()
                raise JobCancelled("slow cancelled")
            return dataset_ref("slow")
        if spec.job_id == "broken":
            raise JobFailed("no such file: data/train.json")
        return dataset_ref(spec.job_id)

    collected = []
    with pytest.raises(WorkflowFailed) as caught:
        run(doc, RecordingExecutor(answer), tmp_path, collected=collected)
    assert caught.value.job_id == "broken"
    assert caught.value.message == "no such file: data/train.json"
    assert slow_was_cancelled.is_set()
    assert caught.value.outputs == {"quick": dataset_ref("quick")}
    never = [e for e in collected if e["job"] == "after" and e["type"] == "status"]
    assert never and never[0]["status"] == "skipped" and "broken" in never[0]["message"]


def test_cancel_stops_running_jobs_and_raises_cancelled(tmp_path):
    cancel = threading.Event()
    started = threading.Event()

    def answer(spec, stop):
        started.set()
        if stop.wait(10):
            raise JobCancelled("stopped")
        return dataset_ref("x")

    threading.Thread(target=lambda: started.wait(5) and cancel.set(), daemon=True).start()
    begin = time.monotonic()
    with pytest.raises(WorkflowCancelled):
        run(trainer_doc(), RecordingExecutor(answer), tmp_path, cancel=cancel, default_models={"sft": "m"})
    assert time.monotonic() - begin < 5


def test_job_output_mapping_and_workflow_output(tmp_path):
    doc = ComposeFile(
        components=[LOADER, OPS],
        workflows=[
            Workflow(
                id="w",
                output={"rows": "${jobs.load.output.rows}", "selected": "${jobs.select.output}"},
                jobs=[
                    Job(
                        id="load", component="dataset-loader", output={"rows": "${output.num_rows}", "ref": "${result}"}
                    ),
                    Job(
                        id="select",
                        component="dataset-ops",
                        method="select",
                        depends_on=["load"],
                        input={
                            "dataset": "${jobs.load.output.ref}",
                            "axis": "rows",
                            "indices": "${input.idx | [0, 1]}",
                        },
                    ),
                ],
            )
        ],
    )
    executor = RecordingExecutor(lambda spec, cancel: dataset_ref(spec.job_id, rows=7))
    result = run(doc, executor, tmp_path)
    assert result == {"rows": 7, "selected": dataset_ref("select", rows=7)}
    assert executor.spec("select").config["indices"] == [0, 1]
    assert executor.spec("select").config["dataset"] == dataset_ref("load", rows=7)


def test_several_terminal_jobs_give_a_dict_by_job_id(tmp_path):
    doc = ComposeFile(
        components=[LOADER],
        workflows=[
            Workflow(id="w", jobs=[Job(id="a", component="dataset-loader"), Job(id="b", component="dataset-loader")])
        ],
    )
    assert run(doc, RecordingExecutor(), tmp_path) == {"a": dataset_ref("a"), "b": dataset_ref("b")}


def test_bad_field_value_fails_the_job_naming_the_field(tmp_path):
    collected = []
    with pytest.raises(WorkflowFailed) as caught:
        run(
            trainer_doc(learning_rate="fast"),
            RecordingExecutor(),
            tmp_path,
            default_models={"sft": "m"},
            collected=collected,
        )
    assert caught.value.job_id == "train"
    assert "learning_rate" in caught.value.message
    failed = [e for e in collected if e["type"] == "status" and e["status"] == "failed"]
    assert failed[0]["job"] == "train"


def local_doc(**fields):
    local = ComponentDoc(id="local-data", type="datasets", fields={"provider": "local", "loader": "json", **fields})
    return ComposeFile(components=[local], workflows=[Workflow(id="w", jobs=[Job(id="load", component="local-data")])])


def spec_for(doc, tmp_path, **kw):
    workflow = doc.workflows[0]
    return build_job_spec(
        doc,
        workflow,
        workflow.jobs[0],
        inputs={},
        job_outputs={},
        env={},
        run_id="r",
        base_dir=tmp_path,
        storage_dir=tmp_path / "s",
        **kw,
    )


def test_relative_paths_resolve_against_base_dir(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.json").write_text("[]")
    (tmp_path / "a.json").write_text("[]")
    spec = spec_for(
        local_doc(data_files={"train": "./data/train.json", "test": ["a.json"]}, cache_dir="cache"), tmp_path
    )
    base = tmp_path.resolve()
    assert spec.config["data_files"] == {"train": str(base / "data" / "train.json"), "test": [str(base / "a.json")]}
    assert spec.config["cache_dir"] == str(base / "cache")


def test_paths_may_not_escape_base_dir(tmp_path):
    with pytest.raises(JobConfigError, match="leaves the folder") as caught:
        spec_for(local_doc(data_files="../secret.json"), tmp_path)
    assert caught.value.path == "components[0].data_files"
    with pytest.raises(JobConfigError, match="outside the workspace"):
        spec_for(local_doc(data_dir="/etc"), tmp_path)
    assert spec_for(local_doc(data_dir="/etc"), tmp_path, allow_absolute_paths=True).config["data_dir"] == "/etc"


def test_model_hub_ids_stay_and_local_folders_resolve(tmp_path):
    (tmp_path / "models" / "base").mkdir(parents=True)
    doc = ComposeFile(
        components=[
            ComponentDoc(
                id="t",
                type="model-trainer",
                fields={
                    "task": "classification",
                    "model": "org/name",
                    "tokenizer": "models/base",
                    "resume_from_checkpoint": "latest",
                },
            )
        ],
        workflows=[Workflow(id="w", jobs=[Job(id="t", component="t")])],
    )
    spec = spec_for(doc, tmp_path)
    assert spec.config["model"] == "org/name"
    assert spec.config["tokenizer"] == str(tmp_path.resolve() / "models" / "base")
    assert spec.config["resume_from_checkpoint"] == "latest"


def test_nested_action_picked_by_the_job(tmp_path):
    ops = ComponentDoc(
        id="ops",
        type="datasets",
        fields={"dataset": "${input.dataset}"},
        actions={
            "keep-long": {"id": "keep-long", "method": "filter", "condition": "len(text) > 3"},
            "pick": {"method": "select", "axis": "columns", "columns": ["text"]},
        },
    )
    doc = ComposeFile(
        components=[ops],
        workflows=[
            Workflow(
                id="w", jobs=[Job(id="f", component="ops", method="keep-long", input={"dataset": dataset_ref("x")})]
            )
        ],
    )
    spec = spec_for(doc, tmp_path)
    assert spec.method == "filter" and spec.config["condition"] == "len(text) > 3"
    assert spec.config["dataset"] == dataset_ref("x")


def test_workspace_secrets_are_always_in_the_spec(tmp_path):
    (tmp_path / "a.json").write_text("[]")
    spec = spec_for(local_doc(data_files="a.json"), tmp_path, secrets=["ws-secret", ""])
    assert spec.secrets == ["ws-secret"]


@pytest.mark.slow
def test_seed_custom_data_preparation_runs_for_real_in_process(tmp_path):
    """The seed's 9.8.3 load -> map, plus a select, through runner.main.run_job."""
    from runner.launch import InProcessExecutor

    (tmp_path / "data").mkdir()
    rows = [{"user_input": f"question {i}", "assistant_response": f"answer {i}"} for i in range(6)]
    (tmp_path / "data" / "custom_train.json").write_text(json.dumps(rows))
    doc = ComposeFile(
        components=[
            ComponentDoc(
                id="local-data",
                type="datasets",
                fields={"provider": "local", "loader": "json", "data_files": "./data/custom_train.json"},
            ),
            ComponentDoc(id="data-processor", type="datasets", fields={"method": "map"}),
            ComponentDoc(id="dataset-ops", type="datasets", fields={}),
        ],
        workflows=[
            Workflow(
                id="prepare",
                jobs=[
                    Job(id="load", component="local-data"),
                    Job(
                        id="process",
                        component="data-processor",
                        depends_on=["load"],
                        input={"dataset": "${jobs.load.output}", "template": "${input.template}"},
                    ),
                    Job(
                        id="first-rows",
                        component="dataset-ops",
                        method="select",
                        depends_on=["process"],
                        input={"dataset": "${jobs.process.output}", "axis": "rows", "indices": [0, 1, 2]},
                    ),
                ],
            )
        ],
    )
    collected = []
    result = run(
        doc,
        InProcessExecutor(),
        tmp_path,
        collected=collected,
        inputs={"template": "Q: {user_input}\nA: {assistant_response}"},
    )
    assert result["type"] == "dataset" and result["num_rows"] == 3
    assert result["preview"][0]["text"] == "Q: question 0\nA: answer 0"
    assert (tmp_path / "storage" / result["path"]).is_dir()
    statuses = [(e["job"], e["status"]) for e in collected if e["type"] == "status"]
    assert statuses.count(("load", "succeeded")) == 1 and ("first-rows", "succeeded") in statuses


def test_workflow_output_reading_a_missing_key_fails_the_run(tmp_path):
    doc = ComposeFile(
        components=[LOADER],
        workflows=[Workflow(id="w", output="${jobs.a.output.nope}", jobs=[Job(id="a", component="dataset-loader")])],
    )
    with pytest.raises(WorkflowFailed) as caught:
        run(doc, RecordingExecutor(), tmp_path)
    assert str(caught.value).startswith("workflow output: ${jobs.a.output.nope}: no key 'nope'")
    assert caught.value.outputs == {"a": dataset_ref("a")}


def _seed_documents():
    """Every workflow of the user's chapter, with the components it names (see test_seed_examples)."""
    import copy

    import yaml

    from compose.loader import load_compose
    from tests.compose.seed_blocks import block, seed_blocks

    loader = block("9.2.2", "기본 설정").data["components"][0]
    ops = copy.deepcopy(block("9.2.4", "데이터 필터링").data["components"][0])
    ops.pop("method")
    paired = yaml.safe_dump({"components": [loader, ops]}, sort_keys=False, allow_unicode=True)
    docs = []
    for seed in seed_blocks():
        data = seed.data
        if "workflows" not in data:
            continue
        text = seed.text if "components" in data else paired + seed.text
        docs.append(pytest.param(load_compose(text, source=seed.name), id=seed.name))
    return docs


@pytest.mark.parametrize("doc", _seed_documents())
def test_every_seed_workflow_builds_valid_job_specs(doc, tmp_path):
    from compose.schema.components import COMPONENT_TYPES

    def answer(spec, cancel):
        if spec.component_type == "model-trainer":
            return {"type": "model", "output_dir": spec.config["output_dir"], "global_step": 1}
        return dataset_ref(spec.job_id)

    executor = RecordingExecutor(answer)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "custom_train.json").write_text("[]")  # the local file 9.8.3 reads
    needs = {spec.name for spec in workflow_inputs(doc)}
    inputs = {"template": "### {instruction}\n{output}"} if "template" in needs else {}
    run(doc, executor, tmp_path, inputs=inputs, default_models={"sft": "/models/base"})
    assert sorted(s.job_id for s in executor.specs) == sorted(j.id for j in doc.workflows[0].jobs)
    for spec in executor.specs:
        COMPONENT_TYPES[spec.component_type].model_validate(spec.config)
    if doc.workflows[0].id == "merge-datasets":
        assert executor.spec("load-first").config["path"] == "tatsu-lab/alpaca"
        assert executor.spec("load-second").config["path"] == "yahma/alpaca-cleaned"


def test_datasets_path_is_confined_when_local_and_kept_as_hub_id_otherwise(tmp_path):
    def loader(path):
        return ComposeFile(
            components=[ComponentDoc(id="d", type="datasets", fields={"path": path})],
            workflows=[Workflow(id="w", jobs=[Job(id="load", component="d")])],
        )

    assert spec_for(loader("tatsu-lab/alpaca"), tmp_path).config["path"] == "tatsu-lab/alpaca"
    (tmp_path / "data").mkdir()
    assert spec_for(loader("./data"), tmp_path).config["path"] == str(tmp_path.resolve() / "data")
    assert spec_for(loader("json"), tmp_path).config["path"] == "json"
    with pytest.raises(JobConfigError, match="leaves the folder"):
        spec_for(loader("../elsewhere"), tmp_path)


def test_home_paths_are_absolute_paths(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "data").mkdir(parents=True)
    workspace = tmp_path / "workspace"
    workspace.mkdir()

    with pytest.raises(JobConfigError, match="outside the workspace"):
        spec_for(local_doc(data_dir="~/data"), workspace)
    spec = spec_for(local_doc(data_dir="~/data"), workspace, allow_absolute_paths=True)
    assert spec.config["data_dir"] == str((Path.home() / "data").resolve())


def test_a_path_the_job_reads_must_exist_and_is_named_as_written(tmp_path):
    with pytest.raises(JobConfigError) as caught:
        spec_for(local_doc(data_files={"train": "./data/nope-train.jsonl"}), tmp_path)
    assert caught.value.path == "components[0].data_files"
    assert str(caught.value) == (
        f"components[0].data_files: `local-data` reads ./data/nope-train.jsonl, which does "
        f"not exist (looked for {tmp_path.resolve() / 'data' / 'nope-train.jsonl'})"
    )
    trainer = ComposeFile(
        components=[
            ComponentDoc(id="t", type="model-trainer", fields={"task": "sft", "model": "./models/does-not-exist"})
        ],
        workflows=[Workflow(id="w", jobs=[Job(id="t", component="t")])],
    )
    with pytest.raises(JobConfigError, match=r"components\[0\]\.model: `t` reads ./models/does-not-exist, which"):
        spec_for(trainer, tmp_path)
    # Globs, folders to be written and hub ids are not checked.
    assert spec_for(local_doc(data_files="./data/*.jsonl", cache_dir="./new-cache"), tmp_path)


def test_a_missing_path_read_from_the_environment_is_not_echoed(tmp_path):
    doc = local_doc(data_files="${env.TRAIN_FILES}")
    workflow = doc.workflows[0]
    with pytest.raises(JobConfigError) as caught:
        build_job_spec(
            doc,
            workflow,
            workflow.jobs[0],
            inputs={},
            job_outputs={},
            env={"TRAIN_FILES": "./s3cr3t.json"},
            run_id="r",
            base_dir=tmp_path,
            storage_dir=tmp_path / "s",
        )
    assert "s3cr3t" not in str(caught.value) and "from the environment" in str(caught.value)
