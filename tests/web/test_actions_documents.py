"""Documents keep their text as written; runs are refused with every problem, or queued."""

from __future__ import annotations

import pytest

from tests.web.factories import TINY_DOCUMENT
from training.actions import RunRefused, create_document, enqueue_run, rerun, update_document
from training.models import Run, RunEvent, RunStatus

pytestmark = pytest.mark.django_db

WITH_INPUT = TINY_DOCUMENT.replace("./data/rows.jsonl", "${input.file | ./data/rows.jsonl}")
TRAINER_WITHOUT_MODEL = """\
components:
  - id: rows
    type: datasets
    provider: local
    loader: json
    data_files: ./data/rows.jsonl
  - id: trainer
    type: model-trainer
    task: sft
    dataset: ${input.dataset}
    text_column: text
workflows:
  - id: train
    jobs:
      - id: load
        component: rows
      - id: fit
        component: trainer
        input:
          dataset: ${jobs.load.output}
        depends_on: [load]
"""


@pytest.fixture
def scheduled(monkeypatch):
    started: list[int] = []
    monkeypatch.setattr("training.run_queue.schedule_run", started.append)
    return started


def test_a_document_keeps_its_text_and_a_summary(workspace, alice):
    doc = create_document(workspace, alice, "tiny", WITH_INPUT)
    assert doc.yaml_text == WITH_INPUT
    assert doc.created_by == alice and doc.updated_by == alice
    assert doc.definition["components"] == [{"id": "rows", "type": "datasets", "task": None, "method": None}]
    workflow = doc.definition["workflows"][0]
    assert workflow["jobs"][0]["component"] == "rows"
    assert workflow["inputs"][0]["name"] == "file"
    assert doc.is_valid and doc.workflow_ids() == ["load-rows"]


def test_a_document_with_mistakes_is_saved_with_its_problems(workspace, alice, bob):
    broken = TINY_DOCUMENT.replace("loader: json", "loader: json\n    lodaer: csv")
    doc = create_document(workspace, alice, "broken", broken)
    assert doc.yaml_text == broken and not doc.is_valid
    problem = doc.definition["problems"][0]
    assert "lodaer" in problem["message"] and problem["line"] == 6
    update_document(doc, bob, TINY_DOCUMENT)
    doc.refresh_from_db()
    assert doc.is_valid and doc.updated_by == bob


def test_enqueue_stores_a_snapshot_and_starts_after_commit(
    workspace, alice, scheduled, django_capture_on_commit_callbacks
):
    doc = create_document(workspace, alice, "tiny", WITH_INPUT)
    with django_capture_on_commit_callbacks(execute=True):
        run = enqueue_run(doc, "load-rows", {"file": "./data/other.jsonl"}, alice)
        assert scheduled == []
    assert scheduled == [run.pk]
    assert run.status == RunStatus.QUEUED and run.yaml_snapshot == WITH_INPUT
    assert run.inputs == {"file": "./data/other.jsonl"} and run.created_by == alice
    assert "Queued by alice" in RunEvent.objects.get(run=run).payload["message"]
    # Editing the document later does not change what the run runs.
    update_document(doc, alice, TINY_DOCUMENT)
    assert Run.objects.get(pk=run.pk).yaml_snapshot == WITH_INPUT


def test_enqueue_refuses_unknown_inputs_and_workflows(workspace, alice, scheduled):
    doc = create_document(workspace, alice, "tiny", WITH_INPUT)
    with pytest.raises(RunRefused) as refused:
        enqueue_run(doc, "load-rows", {"fiel": "x"}, alice)
    assert "fiel" in str(refused.value.problems[0].message)
    with pytest.raises(RunRefused, match="no workflow 'nope'"):
        enqueue_run(doc, "nope", {}, alice)
    assert not Run.objects.exists() and scheduled == []


def test_a_trainer_without_a_model_needs_the_workspace_default(workspace, alice, scheduled):
    doc = create_document(workspace, alice, "train", TRAINER_WITHOUT_MODEL)
    with pytest.raises(RunRefused) as refused:
        enqueue_run(doc, "train", {}, alice)
    assert any("model" in p.path or "model" in p.message for p in refused.value.problems)
    workspace.default_sft_model = "/models/tiny"
    workspace.save()
    doc.refresh_from_db()
    assert enqueue_run(doc, "train", {}, alice).status == RunStatus.QUEUED


def test_remote_code_needs_an_admin_enabled_workspace(workspace, alice, scheduled):
    text = TINY_DOCUMENT.replace("loader: json", "loader: json\n    trust_remote_code: true")
    doc = create_document(workspace, alice, "remote", text)
    with pytest.raises(RunRefused, match="does not allow remote code"):
        enqueue_run(doc, "load-rows", {}, alice)
    workspace.allow_remote_code = True
    workspace.save()
    doc.refresh_from_db()
    assert enqueue_run(doc, "load-rows", {}, alice)


def test_rerun_queues_the_same_snapshot_and_inputs(workspace, alice, bob, scheduled):
    doc = create_document(workspace, alice, "tiny", WITH_INPUT)
    first = enqueue_run(doc, "load-rows", {"file": "./data/b.jsonl"}, alice)
    update_document(doc, alice, TINY_DOCUMENT)
    again = rerun(first, bob)
    assert again.pk != first.pk and again.rerun_of == first
    assert (again.yaml_snapshot, again.inputs, again.created_by) == (WITH_INPUT, first.inputs, bob)
