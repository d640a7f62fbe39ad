"""A confined job (a web workspace) opens no file outside its roots, whatever a glob, a folder
scan or a symlink made after the engine's check leads to; a data set reference names only a
data set of the job's own storage folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compose.jobspec import JobFailed, JobSpec
from runner.main import run_job


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    workspace = tmp_path / "ws"
    (workspace / "data").mkdir(parents=True)
    (workspace / "data" / "x.jsonl").write_text('{"text": "mine"}\n')
    outside = tmp_path / "other-workspace"
    (outside / "data").mkdir(parents=True)
    (outside / "data" / "x.jsonl").write_text('{"text": "theirs"}\n')
    (tmp_path / "secret-key.txt").write_text("SECRET_KEY=abc\n")
    return {"ws": workspace, "outside": outside, "storage": tmp_path / "storage"}


def load_spec(layout: dict[str, Path], **config) -> JobSpec:
    ws = layout["ws"]
    return JobSpec(
        run_id="r",
        job_id="load",
        component_id="data",
        component_type="datasets",
        method="load",
        config={"id": "data", "provider": "local", "loader": "json", **config},
        base_dir=str(ws),
        storage_dir=str(layout["storage"]),
        roots=[str(ws)],
    )


def fails(spec: JobSpec) -> str:
    with pytest.raises(JobFailed) as caught:
        run_job(spec, lambda event: None)
    return caught.value.message


@pytest.mark.parametrize("data_files", ["link-*/x.jsonl", "**/x.jsonl", "link-other/*.jsonl"])
def test_a_glob_does_not_follow_a_symlink_out(layout, data_files):
    (layout["ws"] / "link-other").symlink_to(layout["outside"] / "data")
    message = fails(load_spec(layout, data_files=data_files))
    assert "symbolic link" in message and "outside the workspace" in message
    assert "theirs" not in message


def test_a_folder_scan_does_not_follow_a_symlinked_file_out(layout):
    scanned = layout["ws"] / "symfiles"
    scanned.mkdir()
    (scanned / "passwd.txt").symlink_to(layout["ws"].parent / "secret-key.txt")
    assert "symbolic link" in fails(load_spec(layout, loader="text", data_dir="./symfiles"))


def test_a_symlink_made_after_the_engine_checked_is_still_refused(layout):
    (layout["ws"] / "late").symlink_to(layout["outside"] / "data" / "x.jsonl")
    assert "outside the workspace" in fails(load_spec(layout, data_files=str(layout["ws"] / "late")))


def test_symlinks_inside_the_workspace_still_work(layout):
    (layout["ws"] / "alias").symlink_to(layout["ws"] / "data")
    out = run_job(load_spec(layout, data_files="alias/*.jsonl"), lambda event: None)
    assert out["num_rows"] == 1


def test_chat_template_is_read_only_inside_the_workspace(layout):
    from runner.context import RunContext

    spec = load_spec(layout)
    ctx = RunContext(spec=spec, emit=lambda event: None)
    with pytest.raises(JobFailed, match="leaves the folder"):
        ctx.resolve_path("../secret-key.txt")
    with pytest.raises(JobFailed, match="outside the workspace"):
        ctx.resolve_path(str(layout["ws"].parent / "secret-key.txt"))
    assert ctx.resolve_path("data/x.jsonl") == layout["ws"] / "data" / "x.jsonl"


@pytest.mark.parametrize(
    "path", ["../other/datasets/abc", "datasets/../../x", "/etc", "datasets/.tmp-x", "datasets/a/b"]
)
def test_a_data_set_reference_names_one_folder_of_the_storage(layout, path):
    spec = JobSpec(
        run_id="r",
        job_id="f",
        component_id="f",
        component_type="datasets",
        method="filter",
        config={"id": "f", "dataset": {"type": "dataset", "fingerprint": "abc", "path": path}, "condition": "True"},
        base_dir=str(layout["ws"]),
        storage_dir=str(layout["storage"]),
        roots=[str(layout["ws"])],
    )
    assert "is not a data set reference" in fails(spec)


def test_a_reference_to_another_storage_folder_finds_nothing(layout):
    made = run_job(load_spec(layout, data_files="data/x.jsonl"), lambda event: None)
    other_storage = layout["ws"].parent / "storage-of-another-workspace"
    spec = JobSpec(
        run_id="r",
        job_id="f",
        component_id="f",
        component_type="datasets",
        method="filter",
        config={"id": "f", "dataset": json.loads(json.dumps(made)), "condition": "True"},
        base_dir=str(layout["ws"]),
        storage_dir=str(other_storage),
        roots=[str(layout["ws"])],
    )
    assert "is missing" in fails(spec)
