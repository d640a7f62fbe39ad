"""A worker killed with SIGKILL mid-training: the run comes back by itself and finishes.

Real processes: a Huey worker (``manage.py run_huey``) takes the run; it is killed while its
trainer runs; a second worker starts (a restart, or another machine), finds the run's
heartbeat stale, queues it again and resumes it from its last checkpoint. Runs on the
embedded default (SQLite + Huey on SQLite) and, in the scale-out pass, on PostgreSQL + Redis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests.web.processes import stop, wait_until
from tests.web.test_run_outputs import TRAIN_DOCUMENT
from training.actions import create_document, enqueue_run
from training.models import Artifact, RunEvent, RunStatus

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

MAX_STEPS = 60


def worker_env(tmp_path: Path) -> dict[str, str]:
    """A worker process sharing this test's database, queue and folders."""
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COMPOSE_HEARTBEAT_S": "0.5",
        "COMPOSE_STALE_AFTER_S": "3",
        "COMPOSE_STORAGE_DIR": str(settings.COMPOSE_STORAGE_DIR),
        "COMPOSE_WORKSPACES_DIR": str(settings.COMPOSE_WORKSPACES_DIR),
        "COMPOSE_MAX_ATTEMPTS": "3",
        "COMPOSE_EXECUTOR": "subprocess",
        "OMP_NUM_THREADS": "1",
    }
    if db["ENGINE"].endswith("sqlite3"):
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(db["NAME"])
        env["HUEY_SQLITE_PATH"] = str(tmp_path / "huey.sqlite3")
    else:
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_huey", "--workers", "1", "--no-periodic"],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


def test_a_run_whose_worker_is_killed_resumes_by_itself_and_finishes(
    workspace, alice, tiny_causal_lm_dir, tmp_path, _huey_immediate, monkeypatch
):
    _huey_immediate.immediate = False  # really queue it, for the worker processes
    env = worker_env(tmp_path)
    if "HUEY_SQLITE_PATH" in env:  # this process queues where the workers read
        from huey import SqliteHuey

        monkeypatch.setattr(
            _huey_immediate, "storage", SqliteHuey("compose-web", filename=env["HUEY_SQLITE_PATH"]).storage
        )
    workspace.default_sft_model = str(tiny_causal_lm_dir)
    workspace.save()
    (workspace.root / "data").mkdir(parents=True)
    rows = [{"text": f"### Instruction: say {i}\n### Response: {i} {i} {i}"} for i in range(32)]
    (workspace.root / "data" / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    document = TRAIN_DOCUMENT.replace("max_steps: 8", f"max_steps: {MAX_STEPS}").replace(
        "save_steps: 2", "save_steps: 5"
    )

    logs = tmp_path / "workers.log"
    first = start_worker(env, logs)
    second = None
    try:
        run = enqueue_run(create_document(workspace, alice, "train", document), "train", {}, alice)
        checkpoint = Artifact.objects.filter(run=run, kind=Artifact.Kind.CHECKPOINT)
        wait_until(checkpoint.exists, 240, "the first checkpoint", logs)
        first.kill()  # SIGKILL: no goodbye, the heartbeat simply stops
        first.wait()
        run.refresh_from_db()
        assert run.status == RunStatus.RUNNING and run.attempt == 1

        def stale() -> bool:
            run.refresh_from_db()
            return (timezone.now() - run.heartbeat_at).total_seconds() > 3.5

        wait_until(stale, 60, "the heartbeat to go stale", logs)
        second = start_worker(env, logs)  # a restarted worker finds the run and takes it again

        def finished() -> bool:
            run.refresh_from_db()
            return run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED) or (
                run.status == RunStatus.INTERRUPTED and run.attempt >= 3
            )

        wait_until(finished, 300, "the resumed run to finish", logs)
        assert run.status == RunStatus.SUCCEEDED, run.error + "\n" + logs.read_text()[-4000:]
        assert run.attempt == 2
        train = run.job_runs.get(job_id="train")
        assert train.output["global_step"] == MAX_STEPS
        seqs = list(RunEvent.objects.filter(run=run).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, run.last_seq + 1))  # nothing lost, nothing twice
        messages = [p.get("message", "") for p in RunEvent.objects.filter(run=run).values_list("payload", flat=True)]
        assert any("attempt 2 of 3" in m for m in messages)
        assert any("resuming from" in m and "checkpoint-" in m for m in messages)
        # The data set job finished in attempt 1 and was not run again.
        assert RunEvent.objects.filter(run=run, payload__job="load", payload__status="running").count() == 1
        assert run.folder.resolve() in Path(train.output["output_dir"]).parents
    finally:
        for proc in (first, second):
            stop(proc)


def test_the_admin_says_which_attempt_and_where_it_resumed(staff, client, workspace, alice, settings):
    from compose import events as ev
    from tests.web.factories import make_run
    from training.actions import record_event

    settings.COMPOSE_MAX_ATTEMPTS = 3
    run = make_run(workspace, alice, status=RunStatus.SUCCEEDED, attempt=2)
    record_event(run, ev.status("train", "running", "resumed from checkpoint-40"))
    page = client.get("/admin/training/run/").content.decode()
    assert "attempt 2 of 3, resumed from checkpoint-40" in page
