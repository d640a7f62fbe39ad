"""SubprocessExecutor against a stand-in runner script (protocol, errors, cancel) and the real runner."""

from __future__ import annotations

import os
import stat
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from compose.jobspec import JobCancelled, JobFailed, JobSpec
from runner.launch import InProcessExecutor, SubprocessExecutor, child_env, process_count, runner_command

# Stands in for `python -m runner`: it is given as the executor's "python", so it is
# called as `<script> -m runner --spec PATH` and acts as the spec's config["act"] says.
FAKE_RUNNER = textwrap.dedent("""\
    #!{python}
    import json, os, signal, subprocess, sys, time
    spec_path = sys.argv[sys.argv.index("--spec") + 1]
    spec = json.load(open(spec_path))
    act, job = spec["config"]["act"], spec["job_id"]
    def emit(type, **kw):
        print(json.dumps(dict(type=type, job=job, ts=time.time(), **kw)), flush=True)
    emit("status", status="running", message="")
    if act == "ok":
        emit("log", level="info", message="token is " + spec["env"]["HF_TOKEN"])
        print("a library printed this", flush=True)
        sys.stderr.write("plain line\\n")
        sys.stderr.write("UserWarning: careful with " + spec["env"]["HF_TOKEN"] + "\\n")
        sys.stderr.write(" 10%|#  | 1/10\\r 50%|#####  | 5/10\\r100%|##########| 10/10\\n")
        sys.stderr.write("[transformers] \\x1b[1mBertModel LOAD REPORT\\x1b[0m \\x1b[32mok\\x1b[0m\\n")
        sys.stderr.flush()
        emit("output", value={{"mode": oct(os.stat(spec_path).st_mode & 0o777),
                               "env": {{k: os.environ.get(k) for k in
                                       ("PYTHONUNBUFFERED", "TOKENIZERS_PARALLELISM", "HF_TOKEN", "EXTRA")}},
                               "cwd": os.getcwd()}})
        emit("status", status="succeeded", message="")
    elif act == "fail_status":
        sys.stderr.write("some noise\\n")
        emit("status", status="failed", message="learning_rate must be positive")
        sys.exit(1)
    elif act == "crash":
        for i in range(80):
            sys.stderr.write(f"line {{i}}\\n")
        sys.stderr.write("ValueError: boom\\n")
        sys.exit(3)
    elif act == "no_output":
        sys.exit(0)
    elif act == "oom":
        os.kill(os.getpid(), signal.SIGKILL)
    elif act == "slow_steps":
        # One step of step_s seconds; on SIGTERM it "finishes the step and saves" for save_s.
        def on_term(signum, frame):
            time.sleep(spec["config"]["save_s"])
            open(spec["config"]["saved"], "w").write("checkpoint")
            emit("status", status="cancelled", message="stopped, checkpoint saved")
            sys.exit(143)
        signal.signal(signal.SIGTERM, on_term)
        emit("progress", current=0, total=10, unit="steps", stage="train", eta_s=None)
        time.sleep(spec["config"]["step_s"])
        emit("progress", current=1, total=10, unit="steps", stage="train", eta_s=None)
        emit("log", level="info", message="ready")
        while True:
            time.sleep(0.05)
    elif act in ("hang", "stubborn"):
        # one child in our process group, one in a session of its own (as torchrun starts workers)
        same = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                                 start_new_session=True)
        open(spec["config"]["pids"], "w").write(f"{{os.getpid()}} {{same.pid}} {{other.pid}}")
        if act == "hang":
            def on_term(signum, frame):
                emit("status", status="cancelled", message="stopped")
                sys.exit(143)
            signal.signal(signal.SIGTERM, on_term)
        else:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        emit("log", level="info", message="ready")
        while True:
            time.sleep(0.05)
""")


@pytest.fixture
def fake_python(tmp_path: Path) -> str:
    script = tmp_path / "fake-runner"
    script.write_text(FAKE_RUNNER.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def make_spec(tmp_path: Path, **config) -> JobSpec:
    return JobSpec(
        run_id="run1",
        job_id="train",
        component_id="trainer",
        component_type="model-trainer",
        method="train",
        config=config,
        base_dir=str(tmp_path),
        storage_dir=str(tmp_path / "storage"),
        secrets=["s3cr3t"],
        env={"HF_TOKEN": "s3cr3t"},
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it has exited all the same
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# --- command ---------------------------------------------------------------------


def test_single_process_command_runs_the_runner_module(tmp_path):
    spec = make_spec(tmp_path, act="ok")
    assert runner_command(spec, "/x/job.json", "py") == ["py", "-m", "runner", "--spec", "/x/job.json"]


@pytest.mark.parametrize(
    "resources, n",
    [
        ({}, 1),
        ({"gpus": 1}, 1),
        ({"processes": 1}, 1),
        ({"gpus": 2}, 2),
        ({"processes": 3}, 3),
        ({"gpus": 1, "processes": 4}, 1),
    ],
)
def test_process_count_follows_resources(tmp_path, resources, n):
    assert process_count(make_spec(tmp_path, resources=resources)) == n


def test_several_processes_start_through_torchrun(tmp_path):
    spec = make_spec(tmp_path, resources={"processes": 2})
    assert runner_command(spec, "j.json", "py") == [
        "py",
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "runner",
        "--spec",
        "j.json",
    ]


def test_accelerate_launcher_uses_multi_gpu_so_it_really_starts_n_processes(tmp_path):
    argv = runner_command(make_spec(tmp_path, resources={"gpus": 4, "launcher": "accelerate"}), "j.json", "py")
    assert argv[:4] == ["py", "-m", "accelerate.commands.launch", "--multi_gpu"]
    assert argv[argv.index("--num_processes") + 1] == "4"
    assert "--cpu" not in argv
    assert argv[-4:] == ["-m", "runner", "--spec", "j.json"]


def test_datasets_jobs_ignore_resources(tmp_path):
    spec = make_spec(tmp_path, resources={"processes": 2})
    spec.component_type = "datasets"
    assert process_count(spec) == 1


def test_child_env_adds_spec_env_and_unbuffered_output(tmp_path):
    env = child_env(make_spec(tmp_path), {"EXTRA": "1"}, base={"PATH": "/bin", "PYTHONPATH": "/lib"})
    assert env["HF_TOKEN"] == "s3cr3t" and env["EXTRA"] == "1" and env["PATH"] == "/bin"
    assert env["PYTHONUNBUFFERED"] == "1" and env["TOKENIZERS_PARALLELISM"] == "false"
    assert env["PYTHONPATH"].split(os.pathsep)[1:] == ["/lib"]


# --- protocol against the stand-in runner ----------------------------------------------


def test_success_streams_events_and_returns_the_output(tmp_path, fake_python):
    seen: list[dict] = []
    out = SubprocessExecutor(python=fake_python, extra_env={"EXTRA": "x"}).execute(
        make_spec(tmp_path, act="ok"), seen.append, threading.Event()
    )
    assert out["mode"] == "0o600"
    assert out["env"] == {
        "PYTHONUNBUFFERED": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_TOKEN": "s3cr3t",
        "EXTRA": "x",
    }
    assert out["cwd"] == str(tmp_path)
    statuses = [e["status"] for e in seen if e["type"] == "status"]
    assert statuses == ["running", "succeeded"]
    logs = {e["message"]: e["level"] for e in seen if e["type"] == "log"}
    assert logs["token is ***"] == "info"
    assert logs["a library printed this"] == "info"
    assert logs["plain line"] == "info"
    assert logs["UserWarning: careful with ***"] == "warning"
    assert "100%|##########| 10/10" in logs  # only the last state of a progress bar
    assert "[transformers] BertModel LOAD REPORT ok" in logs  # terminal colour codes dropped
    assert not any("s3cr3t" in str(e) for e in seen if e["type"] != "output")
    assert all(e["job"] == "train" for e in seen)


def test_spec_file_is_removed_afterwards(tmp_path, fake_python, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    SubprocessExecutor(python=fake_python).execute(make_spec(tmp_path, act="ok"), lambda e: None, threading.Event())
    private = tmp_path / "tmp" / f"compose-jobs-{os.getuid()}"
    assert list((tmp_path / "tmp").iterdir()) == [private]
    assert list(private.iterdir()) == []
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


def test_failed_status_message_becomes_the_error(tmp_path, fake_python):
    with pytest.raises(JobFailed) as info:
        SubprocessExecutor(python=fake_python).execute(
            make_spec(tmp_path, act="fail_status"), lambda e: None, threading.Event()
        )
    assert info.value.message == "learning_rate must be positive"
    assert info.value.exit_code == 1


def test_crash_without_status_reports_the_stderr_tail(tmp_path, fake_python):
    with pytest.raises(JobFailed) as info:
        SubprocessExecutor(python=fake_python).execute(
            make_spec(tmp_path, act="crash"), lambda e: None, threading.Event()
        )
    message = info.value.message
    assert info.value.exit_code == 3
    assert message.startswith("the job process failed with exit code 3")
    assert message.endswith("ValueError: boom")
    assert "line 79" in message and "line 5\n" not in message  # only the last lines


def test_exit_zero_without_output_is_a_failure(tmp_path, fake_python):
    with pytest.raises(JobFailed, match="without reporting an output"):
        SubprocessExecutor(python=fake_python).execute(
            make_spec(tmp_path, act="no_output"), lambda e: None, threading.Event()
        )


def test_sigkill_reads_as_out_of_memory(tmp_path, fake_python):
    with pytest.raises(JobFailed) as info:
        SubprocessExecutor(python=fake_python).execute(
            make_spec(tmp_path, act="oom"), lambda e: None, threading.Event()
        )
    assert info.value.message.startswith("killed (out of memory?)")
    assert info.value.exit_code == -9


def test_missing_interpreter_is_a_job_failure(tmp_path):
    with pytest.raises(JobFailed, match="cannot start the job process"):
        SubprocessExecutor(python=str(tmp_path / "no-python")).execute(
            make_spec(tmp_path, act="ok"), lambda e: None, threading.Event()
        )


def _run_until_ready(tmp_path, fake_python, act, grace_s):
    pids_file = tmp_path / "pids"
    cancel = threading.Event()
    seen: list[dict] = []
    result: dict = {}

    def on_event(event):
        seen.append(event)
        if event["type"] == "log" and event["message"] == "ready":
            cancel.set()

    def target():
        started = time.monotonic()
        try:
            SubprocessExecutor(python=fake_python, grace_s=grace_s, checkpoint_grace_s=0).execute(
                make_spec(tmp_path, act=act, pids=str(pids_file)), on_event, cancel
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            result["error"] = exc
        result["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    pids = [int(p) for p in pids_file.read_text().split()]
    return result, seen, pids


def test_cancel_terminates_the_whole_process_tree(tmp_path, fake_python):
    result, seen, pids = _run_until_ready(tmp_path, fake_python, "hang", grace_s=10)
    assert isinstance(result["error"], JobCancelled)
    assert result["elapsed"] < 8  # SIGTERM was enough; no wait for the grace period
    assert [e["status"] for e in seen if e["type"] == "status"][-1] == "cancelled"
    assert wait_for(lambda: not any(alive(p) for p in pids), 5), "a process of the job survived"


def test_cancel_kills_a_job_that_ignores_sigterm_after_the_grace_period(tmp_path, fake_python):
    result, _, pids = _run_until_ready(tmp_path, fake_python, "stubborn", grace_s=1)
    assert isinstance(result["error"], JobCancelled)
    assert 1 <= result["elapsed"] < 8
    assert wait_for(lambda: not any(alive(p) for p in pids), 5), "a process of the job survived"


# --- the real runner -------------------------------------------------------------------


def test_real_runner_reports_an_unknown_component_type(tmp_path):
    spec = make_spec(tmp_path)
    spec.component_type = "gateway"
    seen: list[dict] = []
    with pytest.raises(JobFailed) as info:
        SubprocessExecutor().execute(spec, seen.append, threading.Event())
    assert info.value.exit_code == 1
    assert "cannot be run by compose-web" in info.value.message
    assert [e["status"] for e in seen if e["type"] == "status"] == ["running", "failed"]


def test_in_process_executor_applies_spec_env_only_during_the_job(tmp_path, monkeypatch):
    import runner.main

    def job(ctx):
        return {"token": os.environ.get("HF_TOKEN")}

    monkeypatch.setattr(runner.main, "dispatch", lambda spec: job)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    seen: list[dict] = []
    out = InProcessExecutor().execute(make_spec(tmp_path), seen.append, threading.Event())
    assert out == {"token": "s3cr3t"}
    assert "HF_TOKEN" not in os.environ
    assert [e["type"] for e in seen] == ["status", "output", "status"]


def test_cancel_set_before_the_job_starts_is_honoured(tmp_path, fake_python):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(JobCancelled):
        SubprocessExecutor(python=fake_python, grace_s=1, checkpoint_grace_s=0).execute(
            make_spec(tmp_path, act="hang", pids=str(tmp_path / "pids")), lambda e: None, cancel
        )


def test_the_grace_period_also_covers_the_step_in_flight(tmp_path, fake_python):
    # A step takes 3 s; the base grace alone (0.1 s) would SIGKILL the job while it
    # finishes its step and saves (0.3 s), losing the checkpoint. With the step allowed
    # for, SIGKILL waits 3.1 s: the margin over the save outlasts a loaded machine.
    saved = tmp_path / "saved"
    cancel = threading.Event()

    def on_event(event):
        if event["type"] == "log" and event["message"] == "ready":
            cancel.set()

    with pytest.raises(JobCancelled):
        SubprocessExecutor(python=fake_python, grace_s=0.1, checkpoint_grace_s=0.1).execute(
            make_spec(tmp_path, act="slow_steps", saved=str(saved), step_s=3.0, save_s=0.3), on_event, cancel
        )
    assert saved.read_text() == "checkpoint"


def test_trainers_get_time_to_write_their_checkpoint_before_sigkill(tmp_path):
    executor = SubprocessExecutor(grace_s=10)
    trainer = make_spec(tmp_path)
    dataset_job = make_spec(tmp_path)
    dataset_job.component_type = "datasets"
    assert executor.grace_for(trainer) == 120
    assert executor.grace_for(dataset_job) == 10
    assert SubprocessExecutor(grace_s=300).grace_for(trainer) == 300
