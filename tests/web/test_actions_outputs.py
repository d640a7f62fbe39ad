"""delete_outputs: a finished run's folder and artifact files go, its record stays."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from compose import events as ev
from tests.web.factories import make_run
from training.actions import claim_run, record_event
from training.actions.outputs import OutputsInUse, delete_outputs, plan_deletion
from training.models import Artifact, Membership, MetricPoint, Run, RunEvent, RunStatus

pytestmark = pytest.mark.django_db


def finish(run: Run) -> Run:
    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED)
    run.refresh_from_db()
    return run


@pytest.fixture
def run(workspace, alice):
    """A finished run that reported metrics and artifacts: a checkpoint in its folder and a
    data set in the workspace's shared storage."""
    run = make_run(workspace, alice)
    claim_run(run.pk, "w")
    ckpt = run.folder / "output" / "checkpoint-10"
    ckpt.mkdir(parents=True)
    (ckpt / "model.safetensors").write_bytes(b"\1" * 5000)
    (run.folder / "cache").mkdir()
    (run.folder / "cache" / "tokens.arrow").write_bytes(b"\2" * 300)
    dataset = workspace.storage / "datasets" / ("ab" * 16)
    dataset.mkdir(parents=True)
    (dataset / "data.arrow").write_bytes(b"\3" * 100)
    record_event(run, ev.metric("train", 10, {"loss": 1.5}))
    record_event(run, ev.artifact("train", "checkpoint", str(ckpt), size_bytes=5000, step=10))
    record_event(run, ev.artifact("load", "dataset", str(dataset), size_bytes=100))
    return finish(run)


def test_deleting_frees_the_folder_and_keeps_the_record(run, alice, workspace):
    events, metrics = RunEvent.objects.filter(run=run).count(), MetricPoint.objects.filter(run=run).count()
    done = delete_outputs(run, alice)
    assert done.bytes == 5300 and done.targets == [run.folder.resolve()]
    assert not run.folder.exists() and workspace.root.is_dir()
    assert Run.objects.filter(pk=run.pk, status=RunStatus.SUCCEEDED).exists()
    assert RunEvent.objects.filter(run=run).count() == events
    assert MetricPoint.objects.filter(run=run).count() == metrics
    checkpoint = Artifact.objects.get(run=run, kind="checkpoint")
    assert checkpoint.deleted is not None and checkpoint.path.endswith("checkpoint-10")
    # the data set is shared with every run that reuses it: kept, and not marked
    dataset = Artifact.objects.get(run=run, kind="dataset")
    assert dataset.deleted is None and (workspace.storage / "datasets" / ("ab" * 16) / "data.arrow").is_file()


def test_artifacts_inside_the_workspace_go_too_and_nothing_outside_is_touched(run, alice, workspace, tmp_path):
    old = workspace.root / "output" / "checkpoint-5"  # written before runs had folders
    old.mkdir(parents=True)
    (old / "weights.bin").write_bytes(b"x" * 10)
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes(b"y")
    Artifact.objects.create(run=run, job_id="train", kind="checkpoint", path=str(old))
    Artifact.objects.create(run=run, job_id="train", kind="model", path=str(outside))
    delete_outputs(run, alice)
    assert not old.exists() and (workspace.root / "output").is_dir()
    assert outside.read_bytes() == b"y"
    assert Artifact.objects.get(path=str(outside)).deleted is None


def test_a_symlinked_artifact_loses_its_link_not_what_it_points_to(run, alice, workspace):
    data = workspace.root / "data"
    data.mkdir(parents=True)
    (data / "rows.jsonl").write_text("{}\n")
    link = workspace.root / "output" / "rows-link.jsonl"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(data / "rows.jsonl")
    (run.folder / "data-link").symlink_to(data, target_is_directory=True)
    Artifact.objects.create(run=run, job_id="load", kind="dataset", path=str(link))
    delete_outputs(run, alice)
    assert not link.is_symlink() and (data / "rows.jsonl").read_text() == "{}\n"


def test_another_runs_folder_and_the_workspace_itself_are_never_removed(run, alice, workspace):
    other = make_run(workspace, alice, status=RunStatus.SUCCEEDED)
    (other.folder / "output").mkdir(parents=True)
    for path in (other.folder / "output", workspace.root, workspace.root / "runs", workspace.storage):
        Artifact.objects.create(run=run, job_id="train", kind="model", path=str(path))
    plan = plan_deletion(run)
    assert plan.targets == [run.folder.resolve()]
    delete_outputs(run, alice)
    assert (other.folder / "output").is_dir() and workspace.storage.is_dir()


def test_a_queued_or_running_run_keeps_its_outputs(workspace, alice):
    queued = make_run(workspace, alice)
    running = make_run(workspace, alice)
    claim_run(running.pk, "w")
    for run in (queued, running):
        run.folder.mkdir(parents=True)
        with pytest.raises(OutputsInUse):
            delete_outputs(run, alice)
        assert run.folder.is_dir()


def test_a_run_being_resumed_keeps_the_checkpoints_its_child_continues(run, alice, workspace):
    child = make_run(workspace, alice, resumed_from=run, status=RunStatus.RUNNING)
    with pytest.raises(OutputsInUse, match=f"resumed by run {child.pk}"):
        delete_outputs(run, alice)
    assert run.folder.is_dir()
    Run.objects.filter(pk=child.pk).update(status=RunStatus.SUCCEEDED)
    delete_outputs(run, alice)
    assert not run.folder.exists()


def test_only_an_owner_or_staff_may_delete(run, bob, django_user_model):
    Membership.objects.create(user=bob, workspace=run.workspace, role=Membership.Role.MEMBER)
    with pytest.raises(PermissionDenied):
        delete_outputs(run, bob)
    assert run.folder.is_dir()
    staff = django_user_model.objects.create_user("root", "root@example.org", "pw", is_staff=True)
    delete_outputs(run, staff)
    assert not run.folder.exists()


def test_deleting_twice_is_harmless(run, alice):
    delete_outputs(run, alice)
    again = delete_outputs(run, alice)
    assert again.targets == [] and again.bytes == 0 and again.failed == []
