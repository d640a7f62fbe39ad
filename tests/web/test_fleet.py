"""The fleet in one process: registration with fake GPUs, the Fleet and Queue pages, a run's
need, refusal at queue time, placement on disjoint GPUs and their release, queue steering."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.web.factories import TINY_DOCUMENT
from tests.web.test_run_outputs import TRAIN_DOCUMENT
from training.actions import RunRefused, create_document, enqueue_run, finish_run
from training.actions.placement import place_next, set_queue_paused, waiting_reason
from training.models import Gpu, Membership, Run, RunStatus, Worker

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def trainer_document(gpus: int, extra: str = "") -> str:
    return TRAIN_DOCUMENT.replace(
        "    seed: ${input.seed as integer | 1}\n",
        f"    seed: ${{input.seed as integer | 1}}\n    resources:\n      gpus: {gpus}\n{extra}",
    )


@pytest.fixture
def fleet_on(settings, workspace):
    settings.COMPOSE_PLACEMENT = True
    workspace.default_sft_model = "some/model"
    workspace.save()
    (workspace.root / "data").mkdir(parents=True, exist_ok=True)
    (workspace.root / "data" / "rows.jsonl").write_text('{"text": "a"}\n')
    return settings


def register(name: str, fake: int, settings, labels=()) -> Worker:
    from training.worker import fleet

    settings.COMPOSE_FAKE_GPUS = fake
    settings.COMPOSE_WORKER_LABELS = list(labels)
    fleet._registered.pop(name, None)
    return fleet.register(name)


def queue(workspace, alice, gpus: int) -> Run:
    doc = create_document(workspace, alice, f"t{gpus}-{Run.objects.count()}", trainer_document(gpus))
    return enqueue_run(doc, "train", {}, alice)


def test_a_worker_registers_its_fake_gpus_and_the_fleet_page_lists_them(fleet_on, client, alice, bob, workspace):
    worker = register("box-a", 3, fleet_on, labels=["a100", "nvme"])
    assert worker.fake_gpus and worker.labels == ["a100", "nvme"] and worker.cpu_count >= 1
    assert list(worker.gpus.values_list("index", flat=True)) == [0, 1, 2]
    client.force_login(alice)
    page = client.get("/fleet/").content.decode()
    assert "box-a" in page and "fake GPUs (COMPOSE_FAKE_GPUS)" in page and "a100, nvme" in page
    assert "GPU 2" in page and "online" in page
    client.force_login(bob)  # in no workspace: nothing to see
    assert client.get("/fleet/").status_code == 404


def test_a_silent_worker_turns_lost(fleet_on, client, alice, workspace):
    from datetime import timedelta

    from django.utils import timezone

    from training.worker.fleet import mark_lost_workers

    register("box-b", 1, fleet_on)
    Worker.objects.filter(name="box-b").update(last_seen=timezone.now() - timedelta(seconds=600))
    assert mark_lost_workers(60) == ["box-b"]
    client.force_login(alice)
    assert "lost" in client.get("/fleet/").content.decode()
    Worker.objects.filter(name="box-b").update(last_seen=timezone.now() - timedelta(days=2))
    mark_lost_workers(60)
    assert not Worker.objects.filter(name="box-b").exists()  # forgotten after a day


def test_fake_gpus_are_refused_with_https_on():
    env = {
        **os.environ,
        "COMPOSE_FAKE_GPUS": "2",
        "COMPOSE_HTTPS": "1",
        "DJANGO_SETTINGS_MODULE": "compose_web.settings",
    }
    proc = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "COMPOSE_FAKE_GPUS" in proc.stderr


def test_the_need_is_stored_and_shown_and_an_impossible_run_is_refused(fleet_on, client, alice, workspace):
    register("box-c", 2, fleet_on)
    run = queue(workspace, alice, 2)
    assert run.need_gpus == 2
    data = enqueue_run(create_document(workspace, alice, "tiny", TINY_DOCUMENT), "load-rows", {}, alice)
    assert data.need_gpus == 0
    with pytest.raises(RunRefused) as refused:
        queue(workspace, alice, 4)
    assert "needs 4 GPUs; the largest worker has 2" in str(refused.value.problems[0].message)
    doc = create_document(workspace, alice, "big", trainer_document(4))
    client.force_login(alice)
    form = client.get(f"/documents/{doc.pk}/workflows/train/run/").content.decode()
    assert "Needs: 4 GPUs (refused: needs 4 GPUs; the largest worker has 2)" in form


def test_labels_and_memory_are_read_from_the_file():
    from compose.loader import load_compose
    from compose.need import run_need

    doc = load_compose(trainer_document(1))
    doc.components[1].fields["resources"].update(labels=["a100"], gpu_memory_gb=40)
    need = run_need(doc, "train")
    assert need.gpus == 1 and need.labels == ("a100",) and need.gpu_memory_gb == 40


def test_runs_are_placed_on_disjoint_gpus_and_let_go_however_they_end(fleet_on, client, alice, workspace):
    worker = register("box-d", 3, fleet_on)
    first, second, third = queue(workspace, alice, 2), queue(workspace, alice, 1), queue(workspace, alice, 2)
    assert place_next(worker) == (first.pk, [0, 1])
    assert place_next(worker) == (second.pk, [2])
    assert place_next(worker) is None  # the third waits for 2 GPUs
    third.refresh_from_db()
    assert waiting_reason(third) == f"waiting for 2 GPUs; 3 of 3 busy: #{first.pk}, #{second.pk}"
    client.force_login(alice)
    assert "waiting for 2 GPUs; 3 of 3 busy" in client.get(f"/runs/{third.pk}/").content.decode()
    first.refresh_from_db()
    finish_run(first, RunStatus.FAILED, error="the job process was killed")
    assert set(Gpu.objects.filter(run__isnull=True).values_list("index", flat=True)) == {0, 1}
    assert place_next(worker) == (third.pk, [0, 1])


def test_the_workspace_gpu_limit_and_pause_hold_runs_back(fleet_on, alice, workspace):
    worker = register("box-e", 3, fleet_on)
    workspace.gpu_limit = 2
    workspace.save()
    a, b = queue(workspace, alice, 2), queue(workspace, alice, 1)
    assert place_next(worker) == (a.pk, [0, 1])
    assert place_next(worker) is None
    b.refresh_from_db()
    assert waiting_reason(b).startswith("waiting for the workspace's GPU limit: 2 of 2 in use")
    a.refresh_from_db()
    finish_run(a, RunStatus.SUCCEEDED)
    set_queue_paused(workspace, True, alice)
    assert place_next(worker) is None
    b.refresh_from_db()
    assert waiting_reason(b) == "the queue of Lab is paused"
    set_queue_paused(workspace, False, alice)
    assert place_next(worker) == (b.pk, [0])


def test_the_queue_page_orders_and_steers(fleet_on, client, alice, bob, workspace):
    register("box-f", 1, fleet_on)
    a, b, c = queue(workspace, alice, 1), queue(workspace, alice, 1), queue(workspace, alice, 0)
    client.force_login(alice)
    page = client.get("/queue/").content.decode()
    assert page.index(f"#{a.pk}<") < page.index(f"#{b.pk}<") < page.index(f"#{c.pk}<")
    assert client.post(f"/queue/{c.pk}/move/top/").status_code == 302
    page = client.get("/queue/").content.decode()
    assert page.index(f"#{c.pk}<") < page.index(f"#{a.pk}<")
    client.post(f"/queue/{c.pk}/move/bottom/")
    page = client.get("/queue/").content.decode()
    assert page.index(f"#{b.pk}<") < page.index(f"#{c.pk}<")
    assert "alice" in page and "1 GPU" in page and "no GPU" in page
    # A member who does not own the workspace sees the queue but cannot reorder it.
    Membership.objects.create(user=bob, workspace=workspace)
    client.force_login(bob)
    assert "Move to top" not in client.get("/queue/").content.decode()
    client.post(f"/queue/{b.pk}/move/top/")
    b.refresh_from_db()
    assert b.priority == 0
    client.post(f"/queue/{b.pk}/cancel/")
    b.refresh_from_db()
    assert b.status == RunStatus.CANCELLED
    client.force_login(alice)
    client.post("/queue/w/lab/pause/")
    workspace.refresh_from_db()
    assert workspace.queue_paused
    assert "the queue of Lab is paused" in client.get("/queue/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_embedded_default_claims_as_before_and_sets_no_gpus(settings, workspace, alice):
    from training.worker import execute_run

    settings.COMPOSE_PLACEMENT = False
    (workspace.root / "data").mkdir(parents=True, exist_ok=True)
    (workspace.root / "data" / "rows.jsonl").write_text('{"text": "a"}\n')
    run = enqueue_run(create_document(workspace, alice, "tiny", TINY_DOCUMENT), "load-rows", {}, alice)
    run.refresh_from_db()  # executed after commit, in this process (HUEY.immediate)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert execute_run(run.pk) == "skipped"
    assert not Worker.objects.exists()


def test_a_run_over_the_workspace_limit_is_refused(fleet_on, alice, workspace):
    register("box-g", 3, fleet_on)
    workspace.gpu_limit = 1
    workspace.save()
    with pytest.raises(RunRefused) as refused:
        queue(workspace, alice, 2)
    assert "needs 2 GPUs; the workspace may hold 1 at once" in refused.value.problems[0].message


def test_an_outsider_cannot_steer_another_workspaces_queue(fleet_on, client, alice, bob, workspace):
    from training.models import Workspace

    register("box-o", 1, fleet_on)
    run = queue(workspace, alice, 1)
    other = Workspace.objects.create(name="Other", slug="other")
    Membership.objects.create(user=bob, workspace=other, role=Membership.Role.OWNER)
    client.force_login(bob)
    for url in (
        f"/queue/{run.pk}/move/top/",
        f"/queue/{run.pk}/cancel/",
        "/queue/w/lab/pause/",
        "/queue/w/..%2Fother/pause/",
        "/queue/999999999/cancel/",
    ):
        assert client.post(url).status_code == 404, url
    assert f"#{run.pk}<" not in client.get("/queue/").content.decode()
    run.refresh_from_db()
    workspace.refresh_from_db()
    assert run.status == RunStatus.QUEUED and run.priority == 0 and not workspace.queue_paused
