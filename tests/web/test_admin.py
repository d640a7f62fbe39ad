"""The admin: run history filtered by status, user, workflow and date; cancel and rerun."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from compose import events as ev
from tests.web.factories import make_run
from training.actions import claim_run, record_event
from training.models import Run, RunStatus, WorkspaceSecret

pytestmark = pytest.mark.django_db


def test_run_changelist_filters(client, staff, workspace, alice, bob):
    make_run(workspace, alice, workflow_id="train-a")
    make_run(workspace, bob, workflow_id="train-b", status=RunStatus.FAILED)
    url = reverse("admin:training_run_changelist")

    page = client.get(url, {"status__exact": "failed"})
    assert page.status_code == 200 and page.context["cl"].result_count == 1
    assert client.get(url, {"created_by__id__exact": alice.pk}).context["cl"].result_count == 1
    assert client.get(url, {"workflow_id": "train-a"}).context["cl"].result_count == 1
    year = timezone.now().year
    assert client.get(url, {"created__year": year}).context["cl"].result_count == 2
    assert client.get(url, {"created__year": year - 1}).context["cl"].result_count == 0


def test_run_page_links_to_its_events_and_lists_its_jobs(client, staff, workspace):
    run = make_run(workspace)
    record_event(run, ev.status("load", "running"))
    record_event(run, ev.metric("load", 1, {"loss": 1.0}))
    page = client.get(reverse("admin:training_run_change", args=[run.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert f"?run__id__exact={run.pk}" in body and "2 events" in body and "load" in body
    events = client.get(reverse("admin:training_runevent_changelist"), {"run__id__exact": run.pk})
    assert events.status_code == 200 and events.context["cl"].result_count == 2


def test_cancel_and_rerun_actions_go_through_the_state_machine(client, staff, workspace, alice, monkeypatch):
    monkeypatch.setattr("training.run_queue.schedule_run", lambda run_id: None)
    queued, done = make_run(workspace, alice), make_run(workspace, alice)
    claim_run(done.pk, "w")
    Run.objects.filter(pk=done.pk).update(status=RunStatus.SUCCEEDED)
    url = reverse("admin:training_run_changelist")

    client.post(url, {"action": "cancel_runs", "_selected_action": [queued.pk, done.pk]})
    assert Run.objects.get(pk=queued.pk).status == RunStatus.CANCELLED
    assert Run.objects.get(pk=done.pk).status == RunStatus.SUCCEEDED  # refused, not forced

    (workspace.root / "data").mkdir(parents=True)
    client.post(url, {"action": "rerun_runs", "_selected_action": [done.pk]})
    again = Run.objects.get(rerun_of=done)
    assert again.status == RunStatus.QUEUED and again.created_by == staff


def test_secret_values_are_never_shown(client, staff, workspace):
    WorkspaceSecret.objects.put(workspace, "HF_TOKEN", "hf_verysecret")
    page = client.get(reverse("admin:training_workspace_change", args=[workspace.pk]))
    assert page.status_code == 200 and "HF_TOKEN" in page.content.decode()
    assert "hf_verysecret" not in page.content.decode()


def test_run_history_reads_as_a_record_with_a_way_back_to_the_run_page(client, staff, workspace):
    run = make_run(workspace)
    claim_run(run.pk, "w")
    record_event(run, ev.status("train", "running"))
    record_event(run, ev.metric("train", 5, {"eval_loss": 0.8125}, split="eval"))
    page = client.get(reverse("admin:training_run_change", args=[run.pk])).content.decode()
    assert 'name="_save"' not in page  # nothing to edit
    # nothing to add: the inlines allow no new rows (their "Add another" link never shows)
    assert 'name="job_runs-MAX_NUM_FORMS" value="0"' in page and 'name="artifacts-MAX_NUM_FORMS" value="0"' in page
    assert f'href="{reverse("training:run", args=[run.pk])}"' in page

    listing = client.get(reverse("admin:training_run_changelist")).content.decode()
    assert "eval_loss 0.8125" in listing and "Duration" in listing
    assert f'href="{reverse("training:run", args=[run.pk])}"' in listing


def test_the_fleet_is_listed_read_only_in_the_admin(staff, client):
    from training.models import Gpu, Worker

    worker = Worker.objects.create(name="gpu-box:1", host="gpu-box", cpu_count=16)
    Gpu.objects.create(worker=worker, index=0, name="NVIDIA H200", memory_mb=143771)
    listing = client.get("/admin/training/worker/").content.decode()
    assert "gpu-box:1" in listing
    page = client.get(f"/admin/training/worker/{worker.pk}/change/").content.decode()
    assert "NVIDIA H200" in page and 'name="_save"' not in page
