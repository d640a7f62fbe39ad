"""Two real worker processes on PostgreSQL + Redis, with 2 and 3 fake GPUs.

Twelve queued runs needing 0, 1, 2 and 3 GPUs each execute exactly once; no GPU is ever
held by two runs at once (each job writes the CUDA_VISIBLE_DEVICES it was given); the
3-GPU runs land on the 3-GPU worker; a 4-GPU run is refused when queued; move to top
changes which run goes first; a worker killed with SIGKILL lets its GPUs go after the
stale timeout and its run comes back through the automatic retry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests.web.factories import TINY_DOCUMENT
from tests.web.processes import stop, wait_until
from tests.web.test_fleet import trainer_document
from training.actions import RunRefused, create_document, enqueue_run
from training.actions.placement import move_run, set_queue_paused
from training.models import Gpu, Run, RunStatus, Worker, WorkerStatus

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL",
    ),
    pytest.mark.django_db(transaction=True),
]

STALE_S = 3


def worker_env(name: str, gpus: int, record: Path) -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "COMPOSE_STORAGE_DIR": str(settings.COMPOSE_STORAGE_DIR),
        "COMPOSE_WORKSPACES_DIR": str(settings.COMPOSE_WORKSPACES_DIR),
        "COMPOSE_HEARTBEAT_S": "0.3",
        "COMPOSE_STALE_AFTER_S": str(STALE_S),
        "COMPOSE_MAX_ATTEMPTS": "3",
        "COMPOSE_EXECUTOR": "subprocess",
        "COMPOSE_WORKER_NAME": name,
        "COMPOSE_FAKE_GPUS": str(gpus),
        "COMPOSE_PLACEMENT": "1",
        "COMPOSE_JOB_ENV_ALLOW": "FLEET_RECORD",
        "FLEET_RECORD": str(record),
        "HUEY_WORKERS": "3",
        "OMP_NUM_THREADS": "1",
    }


def start(name: str, gpus: int, record: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "tests/web/fleet_worker.py", "--no-periodic"],
        cwd=ROOT,
        env=worker_env(name, gpus, record),
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_two_workers_place_mixed_runs_on_disjoint_gpus(workspace, alice, tmp_path, _huey_immediate):
    _huey_immediate.immediate = False  # really queue on Redis, for the worker processes
    workspace.default_sft_model = "fake/model"
    workspace.save()
    (workspace.root / "data").mkdir(parents=True)
    (workspace.root / "data" / "rows.jsonl").write_text("".join(json.dumps({"text": f"r{i}"}) + "\n" for i in range(4)))
    record, log = tmp_path / "jobs.jsonl", tmp_path / "workers.log"
    docs = {n: create_document(workspace, alice, f"gpus-{n}", trainer_document(n)) for n in (1, 2, 3, 4)}
    docs[0] = create_document(workspace, alice, "data", TINY_DOCUMENT)

    def queue(n: int) -> Run:
        return enqueue_run(docs[n], "load-rows" if n == 0 else "train", {}, alice)

    small, big = start("gpu2", 2, record, log), start("gpu3", 3, record, log)
    try:
        live = Worker.objects.filter(status=WorkerStatus.ONLINE)
        wait_until(lambda: live.count() == 2 and Gpu.objects.count() == 5, 60, "both workers", log)
        with pytest.raises(RunRefused) as refused:
            queue(4)
        assert "needs 4 GPUs; the largest worker has 3" in refused.value.problems[0].message

        # --- twelve runs of mixed needs -------------------------------------------
        runs = [queue(n) for n in (0, 1, 2, 3) * 3]
        wait_until(
            lambda: not Run.objects.filter(status__in=["queued", "running"]).exists(), 180, "the twelve runs", log
        )
        for run in runs:
            run.refresh_from_db()
            assert run.status == RunStatus.SUCCEEDED and run.attempt == 1, (run.pk, run.error)
            if run.need_gpus == 3:
                assert run.worker == "gpu3"
        jobs = [r for r in records(record) if r["job"] == "train" and r["end"] is not None]
        assert sorted(r["run"] for r in jobs) == sorted(r.pk for r in runs if r.need_gpus)  # each once
        need = {r.pk: r.need_gpus for r in runs}
        where = {r.pk: r.worker for r in runs}
        for job in jobs:
            assert len(job["cvd"].split(",")) == need[job["run"]], job
        together = 0
        for a, b in combinations(jobs, 2):
            if where[a["run"]] == where[b["run"]] and a["start"] < b["end"] and b["start"] < a["end"]:
                together += 1
                assert not set(a["cvd"].split(",")) & set(b["cvd"].split(",")), (a, b)
        assert together, "no worker ran two runs at once"
        for r in records(record):  # a run without GPUs sees none
            if need.get(r["run"]) == 0:
                assert r["cvd"] == ""
        assert not Gpu.objects.filter(run__isnull=False).exists()

        # --- move to top ------------------------------------------------------------
        # Each worker holds one 2-GPU run at a time: the first two in the queue go first.
        set_queue_paused(workspace, True, alice)
        first, second, moved = queue(2), queue(2), queue(2)
        assert move_run(moved, "top", alice)
        set_queue_paused(workspace, False, alice)
        wait_until(
            lambda: (
                not Run.objects.filter(
                    pk__in=[first.pk, second.pk, moved.pk], status__in=["queued", "running"]
                ).exists()
            ),
            60,
            "the ordered runs",
            log,
        )
        first.refresh_from_db(), second.refresh_from_db(), moved.refresh_from_db()
        assert second.started > moved.started and second.started > first.started
        assert {first.status, second.status, moved.status} == {RunStatus.SUCCEEDED}

        # --- a worker killed with SIGKILL -----------------------------------------------
        long = create_document(workspace, alice, "long", trainer_document(3).replace("max_steps: 8", "max_steps: 150"))
        victim = enqueue_run(long, "train", {}, alice)
        wait_until(
            lambda: any(r["run"] == victim.pk and r["job"] == "train" for r in records(record)),
            60,
            "the long run to start",
            log,
        )
        victim.refresh_from_db()
        assert victim.worker == "gpu3" and Gpu.objects.filter(run=victim).count() == 3
        big.kill()
        big.wait()
        # Held until the stale timeout, not freed by the kill itself (no fixed sleep: the
        # check runs while the worker's last beat is still recent).
        gone = Worker.objects.get(name="gpu3")
        assert Gpu.objects.filter(run=victim).count() == 3
        assert (timezone.now() - gone.last_seen).total_seconds() < STALE_S

        def let_go() -> bool:
            victim.refresh_from_db()
            return not Gpu.objects.filter(run=victim).exists() and victim.attempt == 2

        wait_until(let_go, 60, "the GPUs to be let go and the run queued again", log)
        assert victim.status == RunStatus.QUEUED  # the 2-GPU worker cannot hold it
        assert Worker.objects.get(name="gpu3").status == WorkerStatus.LOST
        big = start("gpu3", 3, record, log)  # the machine comes back
        wait_until(
            lambda: Run.objects.filter(pk=victim.pk, status=RunStatus.SUCCEEDED).exists(), 120, "the retried run", log
        )
    finally:
        stop(small)
        stop(big)
