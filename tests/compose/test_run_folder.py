"""A run writes under its own folder; what it reads resolves there first, then in the workspace."""

from __future__ import annotations

from compose.engine import ResumePlan, build_job_spec
from compose.schema.workflow import ComponentDoc, ComposeFile, Job, Workflow


def trainer(**fields) -> ComposeFile:
    component = ComponentDoc(id="t", type="model-trainer", fields={"task": "sft", "model": "./model", **fields})
    return ComposeFile(components=[component], workflows=[Workflow(id="w", jobs=[Job(id="train", component="t")])])


def spec(doc, base, **kw):
    workflow = doc.workflows[0]
    return build_job_spec(
        doc,
        workflow,
        workflow.jobs[0],
        inputs={},
        job_outputs={},
        env={},
        run_id="7",
        base_dir=base,
        storage_dir=base / "s",
        **kw,
    )


def test_written_paths_go_under_the_run_folder_and_read_paths_to_the_workspace(tmp_path):
    (tmp_path / "model").mkdir()
    run_dir = tmp_path / "runs" / "7"
    made = spec(trainer(output_dir="./output/sft"), tmp_path, write_dir=run_dir)
    assert made.config["output_dir"] == str((run_dir / "output" / "sft").resolve())
    assert made.config["model"] == str((tmp_path / "model").resolve())
    assert made.roots == [str(tmp_path.resolve())]


def test_a_path_an_earlier_job_of_the_run_wrote_is_read_from_the_run_folder(tmp_path):
    run_dir = tmp_path / "runs" / "7"
    (run_dir / "output" / "stage1").mkdir(parents=True)
    made = spec(trainer(model="./output/stage1"), tmp_path, write_dir=run_dir)
    assert made.config["model"] == str((run_dir / "output" / "stage1").resolve())


def test_two_runs_never_share_an_output_folder(tmp_path):
    (tmp_path / "model").mkdir()
    first = spec(trainer(), tmp_path, write_dir=tmp_path / "runs" / "1").config["output_dir"]
    second = spec(trainer(), tmp_path, write_dir=tmp_path / "runs" / "2").config["output_dir"]
    assert first != second


def test_a_resumed_trainer_continues_from_latest_down_its_lineage(tmp_path):
    (tmp_path / "model").mkdir()
    plan = ResumePlan(lineage={"train": ["/ws/runs/3/output", "/ws/runs/2/output"]})
    made = spec(trainer(), tmp_path, resume=plan)
    assert made.config["resume_from_checkpoint"] == "latest"
    assert made.resume_dirs == ["/ws/runs/3/output", "/ws/runs/2/output"]
    assert spec(trainer(), tmp_path).config["resume_from_checkpoint"] is None


def test_overwrite_output_reaches_the_spec(tmp_path):
    (tmp_path / "model").mkdir()
    assert spec(trainer(), tmp_path, overwrite_output=True).overwrite_output is True
    assert spec(trainer(), tmp_path).overwrite_output is False
