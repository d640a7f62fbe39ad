"""The run page, its event replay endpoint, cancel and rerun."""

from __future__ import annotations

import pytest
from django.urls import reverse

from compose import events as ev
from tests.web.factories import make_run
from training.actions import claim_run, record_event
from training.models import Run

pytestmark = pytest.mark.django_db

DATASET_REF = {
    "type": "dataset",
    "fingerprint": "ab" * 16,
    "path": "datasets/" + "ab" * 16,
    "num_rows": 2,
    "columns": {"user_input": "string", "assistant_response": "string"},
    "preview": [
        {"user_input": "hello there", "assistant_response": "hi"},
        {"user_input": "2+2?", "assistant_response": "4"},
    ],
    "sft_format": "prompt-response",
    "reused": False,
}


def job_card(html: str, job: str) -> str:
    """The run page's card of ``job``, up to the end of its message line."""
    start = html.index(f'data-job="{job}"')
    end = html.index("</div>", html.index("job-message", start)) + len("</div>")
    return html[start:end]


@pytest.fixture
def run(workspace, alice, document):
    run = make_run(
        workspace,
        alice,
        document=document,
        workflow_id="train-custom",
        yaml_snapshot=document.yaml_text.replace("num_epochs: 5", "num_epochs: 7"),
        inputs={"template": "{user_input}"},
    )
    claim_run(run.pk, "worker-1")
    record_event(run, ev.status("load", "running"))
    record_event(run, ev.progress("load", 2, 2, unit="rows", stage="load"))
    record_event(run, ev.output("load", DATASET_REF))
    record_event(run, ev.status("load", "succeeded"))
    record_event(run, ev.status("train", "running"))
    for step in (10, 20, 30):
        record_event(run, ev.metric("train", step, {"loss": 3.0 / step, "learning_rate": 5e-5}))
    record_event(run, ev.artifact("train", "checkpoint", "/ws/output/checkpoint-30", size_bytes=2048, step=30))
    run.refresh_from_db()
    return run


def test_run_page_shows_header_jobs_datasets_artifacts_and_config_diff(alice_client, run):
    response = alice_client.get(reverse("training:run", args=[run.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-status="running"' in html and "alice" in html
    assert 'data-job="load"' in html and 'data-job="train"' in html
    assert "hello there" in html and "prompt-response" in html  # the data set preview table
    assert "/ws/output/checkpoint-30" in html and "2.0\xa0KB" in html
    # the snapshot differs from the document now: the diff shows the change
    assert (
        '<span class="del">-    num_epochs: 7</span>' in html and '<span class="add">+    num_epochs: 5</span>' in html
    )
    assert reverse("training:run_cancel", args=[run.pk]) in html
    assert "vendor/uPlot.iife.min.js" in html


def test_events_json_replays_in_order_after_a_seq_in_pages(alice_client, run):
    url = reverse("training:run_events", args=[run.pk])
    first = alice_client.get(url, {"after": 0, "limit": 4}).json()
    assert [e["seq"] for e in first["events"]] == [1, 2, 3, 4] and first["more"] is True
    rest = alice_client.get(url, {"after": first["last_seq"]}).json()
    seqs = [e["seq"] for e in rest["events"]]
    assert seqs == list(range(5, run.last_seq + 1)) and rest["more"] is False
    metrics = [e["event"] for e in rest["events"] if e["event"]["type"] == "metric"]
    assert [m["step"] for m in metrics] == [10, 20, 30]
    assert rest["run"]["status"] == "running"
    empty = alice_client.get(url, {"after": run.last_seq}).json()
    assert empty["events"] == [] and empty["last_seq"] == run.last_seq


def test_events_json_rejects_a_bad_after(alice_client, run):
    assert alice_client.get(reverse("training:run_events", args=[run.pk]), {"after": "x"}).status_code == 400


def test_cancel_asks_a_running_run_to_stop(alice_client, run):
    response = alice_client.post(reverse("training:run_cancel", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.cancel_requested is True and run.status == "running"


def test_rerun_queues_a_new_run_with_the_same_snapshot(alice_client, workspace, run):
    workspace.default_sft_model = "./models/tiny"
    workspace.save()
    response = alice_client.post(reverse("training:run_rerun", args=[run.pk]))
    new = Run.objects.exclude(pk=run.pk).get()
    assert response["Location"] == reverse("training:run", args=[new.pk])
    assert new.yaml_snapshot == run.yaml_snapshot and new.inputs == run.inputs and new.rerun_of == run


def test_strangers_get_404_everywhere(bob_client, run):
    for name in ("training:run", "training:run_events"):
        assert bob_client.get(reverse(name, args=[run.pk])).status_code == 404
    for name in ("training:run_cancel", "training:run_rerun"):
        assert bob_client.post(reverse(name, args=[run.pk])).status_code == 404
    run.refresh_from_db()
    assert run.cancel_requested is False


def test_an_empty_queued_run_says_it_waits_for_a_worker(alice_client, workspace, alice):
    run = make_run(workspace, alice)
    html = alice_client.get(reverse("training:run", args=[run.pk])).content.decode()
    assert "Waiting for a worker" in html and "No metrics yet" in html


def test_the_resolved_configuration_shows_each_job_as_it_started(alice_client, run):
    record_event(
        run,
        ev.config(
            "train",
            {
                "id": "custom-trainer",
                "model": "/ws/models/tiny",
                "token": "***",
                "dataset": {"type": "dataset", "path": "datasets/ab", "num_rows": 2},
                "lora_target_modules": ["q_proj", "v_proj"],
            },
        ),
    )
    html = alice_client.get(reverse("training:run", args=[run.pk])).content.decode()
    block = html[html.index('data-job-config="train"') :]
    assert "model: /ws/models/tiny" in block and "token: &#x27;***&#x27;" in block
    assert "lora_target_modules:\n- q_proj\n- v_proj" in block
    assert 'id="job-configs-empty" hidden' in html
    assert "Compose file as run" in html  # the document's text, bindings and all, stays apart


def test_before_any_job_starts_the_page_says_what_will_appear(alice_client, workspace, alice):
    html = alice_client.get(reverse("training:run", args=[make_run(workspace, alice).pk])).content.decode()
    assert "No job has started yet." in html and 'id="job-configs-empty" hidden' not in html
    assert "No artifacts yet" in html and 'id="artifacts-empty" hidden' not in html
    assert 'id="artifacts-table" hidden' in html


def test_artifacts_replace_their_empty_note(alice_client, run):
    html = alice_client.get(reverse("training:run", args=[run.pk])).content.decode()
    assert 'id="artifacts-empty" hidden' in html and 'id="artifacts-table" hidden' not in html


def test_a_run_that_started_without_recorded_configs_says_so(alice_client, run):
    html = alice_client.get(reverse("training:run", args=[run.pk])).content.decode()
    assert "Not recorded for this run." in html  # runs from before jobs reported their config


def test_a_run_that_failed_before_any_job_says_no_job_started(alice_client, workspace, alice):
    run = make_run(workspace, alice)
    claim_run(run.pk, "w")  # started, then refused before its first job
    html = alice_client.get(reverse("training:run", args=[run.pk])).content.decode()
    assert "No job has started yet." in html


def test_the_configs_note_is_hidden_once_several_jobs_recorded_theirs(alice_client, run):
    record_event(run, ev.config("load", {"id": "data", "path": "rows.jsonl"}))
    record_event(run, ev.config("train", {"id": "custom-trainer", "model": "/ws/models/tiny"}))
    html = alice_client.get(reverse("training:run", args=[run.pk])).content.decode()
    assert 'id="job-configs-empty" hidden>' in html


def test_a_cancelled_job_says_where_its_checkpoint_went(alice_client, run):
    record_event(run, ev.progress("train", 8, 60, unit="steps", stage="train", eta_s=45))
    record_event(
        run, ev.status("train", "cancelled", "job train cancelled at step 8; checkpoint saved in /ws/out/checkpoint-8")
    )
    card = job_card(alice_client.get(reverse("training:run", args=[run.pk])).content.decode(), "train")
    assert 'data-status="cancelled"' in card
    assert (
        'class="small job-message muted">job train cancelled at step 8; checkpoint saved in /ws/out/checkpoint-8<'
        in card
    )


def test_a_run_cancelled_before_a_worker_took_it_says_so_everywhere(alice_client, workspace, alice):
    run = make_run(workspace, alice)
    Run.objects.filter(pk=run.pk).update(status="cancelled")
    html = alice_client.get(reverse("training:run", args=[run.pk])).content.decode()
    assert "Waiting for a worker" not in html and "No job ran." in html
    assert "This run reported no metrics." in html and "No metrics yet" not in html
    assert "This run produced no data sets." in html and "This run wrote no artifacts." in html


def test_a_job_that_never_started_reads_as_skipped_with_the_reason(alice_client, run):
    record_event(run, ev.status("train", "failed", "CUDA out of memory"))
    record_event(run, ev.status("export", "skipped", "not started: job `train` failed"))
    card = job_card(alice_client.get(reverse("training:run", args=[run.pk])).content.decode(), "export")
    assert 'class="badge badge-skipped" data-status="skipped"' in card
    assert "not started: job `train` failed" in card


def test_the_replay_carries_the_job_plan_in_workflow_order(alice_client, workspace, alice):
    from training.models import JobRun

    run = make_run(workspace, alice)
    claim_run(run.pk, "w")
    for position, job in enumerate(["load", "train"]):
        JobRun.objects.create(run=run, job_id=job, component_id=f"{job}-component", position=position)
    JobRun.objects.filter(run=run, job_id="load").update(status="succeeded", message="finished in run 3")
    state = alice_client.get(reverse("training:run_events", args=[run.pk])).json()["run"]
    # A kept job's status and message come with the plan: no event will ever say them.
    assert state["jobs"] == [
        {"job": "load", "component": "load-component", "status": "succeeded", "message": "finished in run 3"},
        {"job": "train", "component": "train-component", "status": "pending", "message": ""},
    ]
    assert state["status"] == "running" and state["id"] == run.pk


def test_a_bar_moves_only_while_its_job_runs(alice_client, workspace, alice):
    """A job kept from the run a resumed run continues is succeeded without ever reporting
    progress: its bar is full, not the moving bar of a job at work; one that never started
    is empty."""
    from training.models import JobRun

    run = make_run(workspace, alice, workflow_id="train-custom")
    claim_run(run.pk, "worker-1")
    JobRun.objects.create(
        run=run,
        job_id="load",
        component_id="data",
        position=0,
        status="succeeded",
        message="finished in run 3; its output is used again",
    )
    JobRun.objects.create(run=run, job_id="train", component_id="trainer", position=1, status="running")
    JobRun.objects.create(run=run, job_id="export", component_id="exporter", position=2, status="pending")
    html = alice_client.get(reverse("training:run", args=[run.pk])).content.decode()
    assert '<progress max="1" value="1">' in job_card(html, "load")
    assert '<progress max="1" >' in job_card(html, "train")
    assert '<progress max="1" value="0">' in job_card(html, "export")
