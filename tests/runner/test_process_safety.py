"""A job process stops when its worker dies, leaves no spec behind, and keeps to its limits."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from compose.jobspec import JobFailed, JobSpec
from runner.launch import SubprocessExecutor, spec_root, sweep_stale_specs
from tests.runner.test_launch import FAKE_RUNNER, alive, wait_for

ROOT = Path(__file__).resolve().parents[2]


def env_with_project() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_a_watched_process_stops_soon_after_its_parent_is_killed(tmp_path):
    flag, spec = tmp_path / "orphaned", tmp_path / "job.json"
    spec.write_text("{}")
    child = textwrap.dedent(f"""
        import pathlib, time
        from runner.orphan import watch_parent
        watch_parent(lambda: pathlib.Path({str(flag)!r}).write_text("x"), pathlib.Path({str(spec)!r}))
        time.sleep(600)
    """)
    parent = textwrap.dedent(f"""
        import os, subprocess, sys, time
        env = dict(os.environ, COMPOSE_PARENT_PID=str(os.getpid()), COMPOSE_ORPHAN_GRACE_S="1")
        child = subprocess.Popen([sys.executable, "-c", {child!r}], env=env, start_new_session=True)
        print(child.pid, flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True, env=env_with_project())
    child_pid = int(proc.stdout.readline())
    assert alive(child_pid)
    proc.kill()
    proc.wait()
    assert wait_for(flag.exists, timeout=30), "the orphan did not notice its parent was gone"
    assert not spec.exists()
    assert wait_for(lambda: not alive(child_pid), timeout=30), "the orphan kept running past its grace"


@pytest.mark.slow
def test_a_real_job_ends_when_its_worker_is_killed_and_its_spec_is_swept(tmp_path):
    fifo = tmp_path / "ws" / "blocks.jsonl"
    fifo.parent.mkdir()
    os.mkfifo(fifo)  # reading it blocks forever: a job stuck where no cancel reaches it
    spec = JobSpec(
        run_id="r",
        job_id="load",
        component_id="data",
        component_type="datasets",
        method="load",
        config={"id": "data", "provider": "local", "loader": "json", "data_files": str(fifo)},
        base_dir=str(fifo.parent),
        storage_dir=str(tmp_path / "storage"),
        secrets=["hf_secret_token"],
        env={"HF_TOKEN": "hf_secret_token"},
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    worker = textwrap.dedent(f"""
        import threading
        from compose.jobspec import JobSpec
        from runner.launch import SubprocessExecutor
        spec = JobSpec.from_json({spec.to_json()!r})
        SubprocessExecutor(grace_s=1).execute(spec, lambda event: print(event, flush=True), threading.Event())
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", worker],
        stdout=subprocess.PIPE,
        text=True,
        env={**env_with_project(), "TMPDIR": str(temp)},
    )
    assert "running" in proc.stdout.readline()  # the runner has read its spec and started
    import psutil

    runner_pids = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    private = temp / f"compose-jobs-{os.getuid()}"
    assert runner_pids and not list(private.rglob("job.json")), "a single process deletes its spec once read"
    proc.kill()
    proc.wait()
    assert wait_for(lambda: not any(alive(pid) for pid in runner_pids), timeout=60)
    leftover = list(private.iterdir())
    assert len(leftover) == 1  # the killed worker's folder, now empty
    assert sweep_stale_specs(private) == leftover and list(private.iterdir()) == []


def test_the_spec_folder_is_private(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    root = spec_root()
    assert root.parent == tmp_path and (root.stat().st_mode & 0o777) == 0o700
    live = root / f"job-{os.getpid()}-abc"
    dead = root / "job-999999999-abc"
    for folder in (live, dead):
        folder.mkdir()
        (folder / "job.json").write_text("{}")
    assert sweep_stale_specs(root) == [dead]
    assert live.exists()


def test_the_job_knows_its_worker_and_gets_the_memory_limit(tmp_path, monkeypatch):
    script = tmp_path / "fake-runner"
    script.write_text(
        textwrap.dedent(f"""\
        #!{sys.executable}
        import json, os, sys, time
        spec = json.load(open(sys.argv[sys.argv.index("--spec") + 1]))
        def emit(type, **kw):
            print(json.dumps(dict(type=type, job=spec["job_id"], ts=time.time(), **kw)), flush=True)
        emit("output", value={{k: os.environ.get(k) for k in
                              ("COMPOSE_PARENT_PID", "COMPOSE_JOB_MEMORY_MB", "SECRET_KEY", "PATH")}}
                      | {{"argv": sys.argv[1:]}})
        emit("status", status="succeeded", message="")
    """)
    )
    script.chmod(0o755)
    spec = JobSpec(
        run_id="r",
        job_id="j",
        component_id="c",
        component_type="datasets",
        method="load",
        config={},
        base_dir=str(tmp_path),
        storage_dir=str(tmp_path),
    )
    executor = SubprocessExecutor(python=str(script), base_env={"PATH": "/usr/bin:/bin"}, memory_mb=512)
    monkeypatch.setenv("SECRET_KEY", "server-key-0123456789")
    out = executor.execute(spec, lambda event: None, threading.Event())
    assert out["COMPOSE_PARENT_PID"] == str(os.getpid())
    assert out["COMPOSE_JOB_MEMORY_MB"] == "512"
    assert out["SECRET_KEY"] is None and out["PATH"] == "/usr/bin:/bin"
    assert out["argv"][-1] == "--remove-spec"


def test_a_job_past_its_time_limit_is_stopped_and_fails_saying_so(tmp_path):
    script = tmp_path / "fake-runner"
    script.write_text(FAKE_RUNNER.format(python=sys.executable))
    script.chmod(0o755)
    spec = JobSpec(
        run_id="r",
        job_id="train",
        component_id="t",
        component_type="datasets",
        method="load",
        config={"act": "hang", "pids": str(tmp_path / "pids")},
        base_dir=str(tmp_path),
        storage_dir=str(tmp_path),
    )
    seen: list[dict] = []
    with pytest.raises(JobFailed, match="time limit") as caught:
        SubprocessExecutor(python=str(script), grace_s=1, timeout_s=1).execute(spec, seen.append, threading.Event())
    assert "COMPOSE_JOB_TIMEOUT_S" in caught.value.message
    assert [e for e in seen if e["type"] == "status"][-1]["status"] == "failed"
    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    assert wait_for(lambda: not any(alive(pid) for pid in pids))


def test_an_allocation_past_the_memory_limit_fails_the_job_naming_the_limit(tmp_path):
    code = textwrap.dedent("""
        from runner.process_limits import apply_memory_limit
        apply_memory_limit({"COMPOSE_JOB_MEMORY_MB": "300"})
        try:
            block = bytearray(1 << 30)
        except MemoryError:
            print("refused")
    """)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env_with_project(), timeout=120
    )
    assert done.stdout.strip() == "refused", done.stderr


def test_memory_error_in_a_job_becomes_a_failure_that_names_the_limit(tmp_path, monkeypatch):
    from runner import main as runner_main

    def greedy(ctx):
        raise MemoryError()

    monkeypatch.setattr(runner_main, "dispatch", lambda spec: greedy)
    monkeypatch.setenv("COMPOSE_JOB_MEMORY_MB", "300")
    spec = JobSpec(
        run_id="r",
        job_id="j",
        component_id="c",
        component_type="datasets",
        method="map",
        config={},
        base_dir=str(tmp_path),
        storage_dir=str(tmp_path),
    )
    seen: list[dict] = []
    with pytest.raises(JobFailed, match="300 MiB memory limit"):
        runner_main.run_job(spec, seen.append)
    assert seen[-1]["status"] == "failed" and "COMPOSE_JOB_MEMORY_MB" in seen[-1]["message"]
