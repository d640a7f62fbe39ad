"""Every run owns its outputs: its own folder, the truth about its checkpoints, Resume."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from compose.jobspec import JobSpec
from tests.web.factories import make_run
from training import actions
from training.models import Artifact, Run, RunEvent, RunStatus
from training.views.lineage import earlier_metrics, resumed_step
from training.worker import execute_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TRAIN_DOCUMENT = """\
components:
  - id: rows
    type: datasets
    provider: local
    loader: json
    data_files: ./data/rows.jsonl
  - id: trainer
    type: model-trainer
    task: sft
    text_column: text
    peft_adapter: lora
    max_steps: 8
    save_steps: 2
    logging_steps: 1
    per_device_train_batch_size: 2
    seed: ${input.seed as integer | 1}
workflows:
  - id: train
    jobs:
      - id: load
        component: rows
      - id: train
        component: trainer
        depends_on: [load]
        input:
          dataset: ${jobs.load.output}
"""


@pytest.fixture
def trainable(workspace, tiny_causal_lm_dir, settings):
    settings.COMPOSE_EXECUTOR = "inprocess"
    workspace.default_sft_model = str(tiny_causal_lm_dir)
    workspace.save()
    data = workspace.root / "data"
    data.mkdir(parents=True, exist_ok=True)
    rows = [{"text": f"### Instruction: say {i}\n### Response: {i} {i} {i}"} for i in range(16)]
    (data / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return workspace


class CancelAtFirstCheckpoint:
    """Runs jobs in this process and asks the run to stop once a checkpoint is saved."""

    def execute(self, spec: JobSpec, on_event, cancel: threading.Event) -> Any:
        from runner.launch import InProcessExecutor

        def watch(event: dict) -> None:
            on_event(event)
            if event.get("type") == "artifact" and event.get("kind") == "checkpoint":
                cancel.set()

        return InProcessExecutor().execute(spec, watch, cancel)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train_metrics(run: Run) -> list[int]:
    return sorted(run.metrics.filter(job_id="train", name="loss").values_list("step", flat=True))


def test_two_runs_of_one_workflow_keep_separate_intact_outputs(trainable, alice):
    from runner.launch import InProcessExecutor

    first = make_run(trainable, alice, workflow_id="train", yaml_snapshot=TRAIN_DOCUMENT, inputs={"seed": 1})
    assert execute_run(first.pk, executor=InProcessExecutor(), worker="w") == "succeeded"
    first.refresh_from_db()
    first_out = Path(first.job_runs.get(job_id="train").output["output_dir"])
    assert first.folder.resolve() in first_out.parents
    adapter = first_out / "adapter_model.safetensors"
    before = digest(adapter)

    second = make_run(trainable, alice, workflow_id="train", yaml_snapshot=TRAIN_DOCUMENT, inputs={"seed": 2})
    assert execute_run(second.pk, executor=InProcessExecutor(), worker="w") == "succeeded"
    second_out = Path(second.job_runs.get(job_id="train").output["output_dir"])
    assert second.folder.resolve() in second_out.parents and second_out != first_out
    assert digest(adapter) == before  # run 1's adapter is untouched
    assert digest(second_out / "adapter_model.safetensors") != before
    for run in (first, second):
        # (materialized data sets live in the workspace's storage, shared by content)
        paths = [
            Path(p)
            for p in Artifact.objects.filter(run=run).exclude(kind=Artifact.Kind.DATASET).values_list("path", flat=True)
        ]
        assert paths and all(run.folder.resolve() in p.parents for p in paths)


def test_resume_continues_from_the_checkpoint_and_the_curves_join(trainable, alice, settings):
    parent = make_run(trainable, alice, workflow_id="train", yaml_snapshot=TRAIN_DOCUMENT)
    assert execute_run(parent.pk, executor=CancelAtFirstCheckpoint(), worker="w") == "cancelled"
    parent.refresh_from_db()
    train_job = parent.job_runs.get(job_id="train")
    assert "checkpoint saved in" in train_job.message
    assert str(parent.folder.resolve()) in train_job.message  # this run's own checkpoint

    child = actions.resume(parent, alice)  # queued; the immediate queue runs it at once
    child.refresh_from_db()
    assert child.status == RunStatus.SUCCEEDED, child.error
    assert child.resumed_from_id == parent.pk and list(parent.resumed_as.all()) == [child]
    assert child.job_runs.get(job_id="train").output["global_step"] == 8
    step = resumed_step(child)
    assert step and step < 8
    # The load job is not run again: its output stands, and no job process started for it.
    load = child.job_runs.get(job_id="load")
    assert load.status == "succeeded" and f"finished in run {parent.pk}" in load.message
    assert not RunEvent.objects.filter(run=child, payload__job="load", payload__status="running").exists()
    # Parent's points up to the checkpoint, then the child's: every step once, no gap.
    earlier = sorted(e["step"] for e in earlier_metrics(child) if e["job"] == "train" and "loss" in e["values"])
    assert earlier and max(earlier) == step
    assert earlier + train_metrics(child) == list(range(1, 9))

    client_page = _page(alice, child)
    assert f'resumed from <a href="/runs/{parent.pk}/">#{parent.pk}</a> at step {step}' in client_page
    assert 'id="earlier-metrics"' in client_page
    assert f'resumed as <a href="/runs/{child.pk}/">#{child.pk}</a>' in _page(alice, parent)


def _page(user, run: Run) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    response = client.get(f"/runs/{run.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_succeeded_or_running_run_cannot_be_resumed(workspace, alice, client):
    run = make_run(workspace, alice, status=RunStatus.SUCCEEDED)
    with pytest.raises(actions.InvalidTransition):
        actions.resume(run, alice)
    client.force_login(alice)
    assert client.post(f"/runs/{run.pk}/resume/").status_code == 302
    assert Run.objects.count() == 1
    assert 'id="resume-form" hidden' in client.get(f"/runs/{run.pk}/").content.decode()


def test_run_again_with_the_current_document(workspace, alice, client):
    from tests.web.factories import TINY_DOCUMENT

    (workspace.root / "data").mkdir(parents=True)
    (workspace.root / "data" / "rows.jsonl").write_text('{"text": "a"}\n')
    document = actions.create_document(workspace, alice, "tiny", TINY_DOCUMENT)
    run = make_run(workspace, alice, document=document, status=RunStatus.FAILED)
    client.force_login(alice)
    assert "Run again with the current document" not in client.get(f"/runs/{run.pk}/").content.decode()
    actions.update_document(document, alice, TINY_DOCUMENT.replace("rows.jsonl", "rows.jsonl\n    shuffle: true"))
    assert "Run again with the current document" in client.get(f"/runs/{run.pk}/").content.decode()
    response = client.post(f"/runs/{run.pk}/rerun-current/")
    newest = Run.objects.latest("pk")
    assert response.status_code == 302 and newest.pk != run.pk
    assert "shuffle: true" in newest.yaml_snapshot and newest.rerun_of_id == run.pk


def test_another_workspaces_user_cannot_resume(workspace, alice, bob, client):
    run = make_run(workspace, alice, status=RunStatus.FAILED)
    client.force_login(bob)
    assert client.post(f"/runs/{run.pk}/resume/").status_code == 404
    assert client.post(f"/runs/{run.pk}/rerun-current/").status_code == 404


def test_a_run_is_resumed_once_and_the_page_stops_offering_it(workspace, alice, client, settings):
    settings.COMPOSE_EXECUTOR = "inprocess"
    parent = make_run(workspace, alice, status=RunStatus.CANCELLED)
    child = make_run(workspace, alice, status=RunStatus.FAILED, resumed_from=parent)
    with pytest.raises(actions.RunRefused, match=f"already resumed as run {child.pk}"):
        actions.resume(parent, alice)
    client.force_login(alice)
    page = client.get(f"/runs/{parent.pk}/").content.decode()
    assert 'id="resume-form" data-resumed="1" hidden' in page


def test_the_resumed_step_ignores_deleted_checkpoints(workspace, alice):
    from django.utils import timezone

    parent = make_run(workspace, alice, status=RunStatus.CANCELLED)
    Artifact.objects.create(
        run=parent, job_id="train", kind="checkpoint", path="/x/checkpoint-40", step=40, deleted=timezone.now()
    )
    child = make_run(workspace, alice, resumed_from=parent)
    assert resumed_step(child) is None


def test_run_again_with_the_current_document_links_the_run_it_came_from(workspace, alice):
    from tests.web.factories import TINY_DOCUMENT

    (workspace.root / "data").mkdir(parents=True)
    (workspace.root / "data" / "rows.jsonl").write_text('{"text": "a"}\n')
    document = actions.create_document(workspace, alice, "tiny", TINY_DOCUMENT)
    run = make_run(workspace, alice, document=document, status=RunStatus.FAILED)
    assert actions.rerun_with_document(run, alice).rerun_of_id == run.pk
