"""Executors that run one job: in a child process (the default) or in this process.

:class:`SubprocessExecutor` starts ``python -m runner --spec job.json`` in its own
process group (or ``torchrun`` / ``accelerate launch`` for a trainer whose
``resources`` ask for several processes), turns its stdout into events and its
stderr into log events, and on cancel sends SIGTERM to the whole process tree,
SIGKILL after a grace period. An out-of-memory kill or a crash in the child never
takes the caller down, and the child's GPU memory is freed when it exits.

The spec file (it may hold secrets) lives, mode 0600, in a folder of its own under a
private 0700 folder; a single process deletes it as soon as it has read it. The job
watches this process (``runner.orphan``) and stops by itself if it is killed; a spec
left behind by a killed worker is swept by the next executor (:func:`sweep_stale_specs`).
"""

from __future__ import annotations

import collections
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from compose import events
from compose.jobspec import JobCancelled, JobFailed, JobSpec, redact
from runner.main import run_job
from runner.orphan import GRACE_ENV, PARENT_PID_ENV
from runner.process_limits import MEMORY_ENV

EventCallback = Callable[[events.Event], None]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STDERR_TAIL_LINES = 50
SPEC_PLACEHOLDER = "job.json"

_WARNING_LINE = re.compile(r"warn|error|exception|traceback|fatal|killed", re.IGNORECASE)
# Terminal colour and cursor codes (transformers prints its load report in bold): a log
# line on the run page or in a stored run would show them as "[1m" junk.
_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


def process_count(spec: JobSpec) -> int:
    """How many processes a job asks for (1 unless a trainer's ``resources`` say more).

    ``gpus: N`` (N >= 2) starts one process per GPU; ``processes: N`` with no GPUs
    starts N CPU processes that train data-parallel over gloo.
    """
    if spec.component_type != "model-trainer":
        return 1
    resources = spec.config.get("resources") or {}
    gpus = int(resources.get("gpus") or 0)
    if gpus >= 2:
        return gpus
    processes = int(resources.get("processes") or 1)
    if gpus == 0 and processes >= 2:
        return processes
    return 1


def launcher_name(spec: JobSpec) -> str:
    resources = spec.config.get("resources") or {}
    return str(resources.get("launcher") or "torchrun")


def runner_command(
    spec: JobSpec,
    spec_path: str | os.PathLike[str] = SPEC_PLACEHOLDER,
    python: str = sys.executable,
    remove_spec: bool = False,
) -> list[str]:
    """The argument list that runs ``spec`` (read from ``spec_path``); never a shell line.

    ``remove_spec``: a single process deletes the file once read (several processes of a
    launcher each read it, so theirs stays until the executor removes it)."""
    runner_args = ["-m", "runner", "--spec", str(spec_path)]
    n = process_count(spec)
    if n == 1:
        return [python, *runner_args, *(["--remove-spec"] if remove_spec else [])]
    if launcher_name(spec) == "accelerate":
        # --multi_gpu is what starts N processes; on a box without GPUs they use gloo.
        # (--cpu would silently start one.)
        return [
            python,
            "-m",
            "accelerate.commands.launch",
            "--multi_gpu",
            "--num_processes",
            str(n),
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            str(_free_port()),
            *runner_args,
        ]
    return [python, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n), *runner_args]


def child_env(
    spec: JobSpec, extra_env: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The job process's environment: ``base`` (ours when None; a web worker passes its
    allow-listed one, ``compose.jobenv``), plus the executor's and the spec's extras."""
    env = dict(os.environ if base is None else base)
    env.update(extra_env or {})
    env.update(spec.env)
    env["PYTHONUNBUFFERED"] = "1"
    env["TOKENIZERS_PARALLELISM"] = "false"
    n = process_count(spec)
    if n > 1 and "OMP_NUM_THREADS" not in env:
        # Share the cores among the processes (torchrun would pick 1 and print a banner about it).
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // n))
    # Progress is reported as events; a progress bar on stderr would become hundreds of log lines.
    env.setdefault("TQDM_DISABLE", "1")
    # `-m runner` must import this project's packages wherever the child starts.
    paths = [str(PROJECT_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def spec_root() -> Path:
    """The private folder (0700) that holds the spec folders of this user's running jobs."""
    root = Path(tempfile.gettempdir()) / f"compose-jobs-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    if root.is_symlink() or root.stat().st_uid != os.getuid():
        raise JobFailed(f"{root} is not a private folder of this user; remove it and try again")
    root.chmod(0o700)
    return root


def sweep_stale_specs(root: Path | None = None) -> list[Path]:
    """Remove spec folders whose executor process is gone (a worker killed mid-job)."""
    import shutil

    root = root or spec_root()
    removed = []
    for folder in root.glob("job-*-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class SubprocessExecutor:
    """Runs each job as ``python -m runner`` (or a multi-process launcher) in a child process.

    ``base_env``: the environment a job starts from (default: this process's);
    ``memory_mb``: each job process's memory ceiling; ``timeout_s``: a job running longer
    is stopped as by cancel and fails saying so.
    """

    def __init__(
        self,
        python: str = sys.executable,
        grace_s: float = 10,
        workdir: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
        checkpoint_grace_s: float = 120,
        base_env: Mapping[str, str] | None = None,
        memory_mb: int | None = None,
        timeout_s: float | None = None,
    ):
        self.python = python
        self.grace_s = grace_s
        # A trainer stops after its current step and then writes a checkpoint; the save
        # of a large model can take a minute. SIGKILL sooner would lose the checkpoint
        # that cancel promises. The step in flight is allowed for on top: the
        # supervisor adds the longest step it has seen (see _Supervisor.grace).
        self.checkpoint_grace_s = checkpoint_grace_s
        self.workdir = Path(workdir) if workdir else None
        self.extra_env = dict(extra_env or {})
        self.base_env = dict(base_env) if base_env is not None else None
        self.memory_mb = memory_mb or None
        self.timeout_s = timeout_s or None
        sweep_stale_specs()

    def grace_for(self, spec: JobSpec) -> float:
        """Seconds between SIGTERM and SIGKILL on cancel, before the step in flight is added."""
        if spec.component_type == "model-trainer":
            return max(self.grace_s, self.checkpoint_grace_s)
        return self.grace_s

    def execute(self, spec: JobSpec, on_event: EventCallback, cancel: threading.Event) -> Any:
        with tempfile.TemporaryDirectory(prefix=f"job-{os.getpid()}-", dir=spec_root()) as tmp:
            spec_path = spec.write(Path(tmp) / "job.json")  # 0600: it may hold a token
            argv = runner_command(spec, spec_path, self.python, remove_spec=True)
            env = child_env(spec, self.extra_env, self.base_env)
            env[PARENT_PID_ENV] = str(os.getpid())
            env[GRACE_ENV] = str(self.grace_for(spec))
            if self.memory_mb:
                env[MEMORY_ENV] = str(self.memory_mb)
            cwd = self.workdir or (Path(spec.base_dir) if spec.base_dir and Path(spec.base_dir).is_dir() else None)
            n = process_count(spec)
            if n > 1:
                on_event(
                    events.log(
                        spec.job_id,
                        f"starting {n} processes with {launcher_name(spec)} (data-parallel, world size {n})",
                    )
                )
            try:
                proc = subprocess.Popen(
                    argv,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    cwd=cwd,
                    start_new_session=True,
                )
            except OSError as exc:
                raise JobFailed(f"cannot start the job process {argv[0]}: {exc}") from exc
            return _Supervisor(spec, proc, on_event, cancel, self.grace_for(spec), self.timeout_s).run()


class _Supervisor:
    """Follows one child process: streams its output, watches for cancel, reports the end."""

    def __init__(
        self,
        spec: JobSpec,
        proc: subprocess.Popen[bytes],
        on_event: EventCallback,
        cancel: threading.Event,
        grace_s: float,
        timeout_s: float | None = None,
    ):
        self.spec = spec
        self.timeout_s = timeout_s
        self.timed_out = False
        self.proc = proc
        self.on_event = on_event
        self.cancel = cancel
        self.grace_s = grace_s
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.failed_message: str | None = None
        self.output: Any = None
        self.has_output = False
        self.cancel_sent = False
        self.exited = threading.Event()
        self.known_descendants: dict[int, Any] = {}  # pid -> psutil.Process
        # The slowest training step so far, from the job's progress events.
        self.longest_step_s = 0.0
        self._last_step: tuple[float, int] | None = None  # (when, step) of the previous progress
        # on_event is called from two threads (stdout and stderr readers).
        self._emit_lock = threading.Lock()

    def run(self) -> Any:
        stderr_reader = threading.Thread(target=self._read_stderr, name="runner-stderr", daemon=True)
        watcher = threading.Thread(target=self._watch_cancel, name="runner-cancel", daemon=True)
        stderr_reader.start()
        watcher.start()
        try:
            assert self.proc.stdout is not None
            for event in events.read_events(_lines(self.proc.stdout)):
                self._on_stdout_event(event)
            returncode = self.proc.wait()
        finally:
            self.exited.set()
            if self.proc.poll() is None:  # the caller itself was interrupted: leave nothing behind
                _kill_tree(self.proc, signal.SIGKILL)
                self.proc.wait()
            watcher.join(timeout=5)
            self._kill_survivors()
            stderr_reader.join(timeout=5)
        return self._result(returncode)

    def _result(self, returncode: int) -> Any:
        if returncode == events.EXIT_OK and self.has_output:
            return self.output
        if self.timed_out:
            message = (
                f"stopped after {self.timeout_s:g} s: the job ran past its time limit "
                "(COMPOSE_JOB_TIMEOUT_S on the worker)"
            )
            self._emit(events.status(self.spec.job_id, "failed", message))
            raise JobFailed(message, returncode)
        if self.cancel_sent or self.cancel.is_set() or returncode == events.EXIT_CANCELLED:
            raise JobCancelled(f"job {self.spec.job_id} cancelled")
        if returncode == events.EXIT_OK:
            raise JobFailed("the job process ended without reporting an output", returncode)
        raise JobFailed(self._failure_message(returncode), returncode)

    def _failure_message(self, returncode: int) -> str:
        if self.failed_message:
            return self.failed_message
        if returncode == -signal.SIGKILL:
            head = "killed (out of memory?)"
        elif returncode < 0:
            head = f"killed by signal {signal.Signals(-returncode).name}"
        elif returncode == events.EXIT_USAGE:
            head = "the runner could not read its job spec (exit code 2)"
        else:
            head = f"the job process failed with exit code {returncode}"
        tail = "\n".join(self.stderr_tail)
        return f"{head}\n{tail}" if tail else head

    def _emit(self, event: events.Event) -> None:
        with self._emit_lock:
            self.on_event(event)

    def _on_stdout_event(self, event: events.Event) -> None:
        if not event.get("job"):
            event["job"] = self.spec.job_id
        if event["type"] == "log":
            event["message"] = self._redact(str(event.get("message", "")))
        elif event["type"] == "status" and event.get("status") == "failed":
            self.failed_message = self._redact(str(event.get("message") or "")) or None
        elif event["type"] == "output":
            self.output = event.get("value")
            self.has_output = True
        elif event["type"] == "progress" and event.get("unit") == "steps":
            self._time_steps(event.get("current"))
        self._emit(event)

    def _time_steps(self, current: Any) -> None:
        if not isinstance(current, int):
            return
        now = time.monotonic()
        if self._last_step is not None and current > self._last_step[1]:
            then, step = self._last_step
            self.longest_step_s = max(self.longest_step_s, (now - then) / (current - step))
        self._last_step = (now, current)

    @property
    def grace(self) -> float:
        """Seconds from SIGTERM to SIGKILL: the base grace plus the step the job may be in."""
        return self.grace_s + self.longest_step_s

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in _lines(self.proc.stderr):
            # A progress bar rewrites its line with \r: keep what it shows last.
            line = self._redact(_TERMINAL_CODES.sub("", raw.rstrip("\n").split("\r")[-1]).rstrip())
            if not line.strip():
                continue
            self.stderr_tail.append(line)
            if self.cancel_sent:
                # A launcher's shutdown traceback after our SIGTERM is expected noise.
                level = "debug"
            else:
                level = "warning" if _WARNING_LINE.search(line) else "info"
            self._emit(events.log(self.spec.job_id, line, level))

    def _watch_cancel(self) -> None:
        polls = 0
        deadline = time.monotonic() + self.timeout_s if self.timeout_s else None
        while not self.exited.is_set():
            if polls % 10 == 0:
                self._remember_descendants()
            polls += 1
            if self.cancel.wait(0.1):
                break
            if deadline is not None and time.monotonic() >= deadline:
                self.timed_out = True
                break
        else:
            return
        if self.exited.is_set():
            return
        self.cancel_sent = True
        self._remember_descendants()
        _kill_tree(self.proc, signal.SIGTERM)
        if not self.exited.wait(self.grace):
            self._remember_descendants()
            _kill_tree(self.proc, signal.SIGKILL)

    def _remember_descendants(self) -> None:
        for process in _descendants(self.proc.pid):
            self.known_descendants.setdefault(process.pid, process)

    def _kill_survivors(self) -> None:
        """SIGKILL descendants seen while the job ran that outlived it (workers of a dead launcher)."""
        for process in self.known_descendants.values():
            try:
                if process.is_running():  # also checks the pid was not reused
                    process.kill()
            except Exception:  # noqa: BLE001 - it went away, or is not ours to kill
                pass

    def _redact(self, text: str) -> str:
        return redact(text, self.spec.secrets)


def _lines(stream: IO[bytes]) -> Iterable[str]:
    # Split on \n only (text mode would also split on the \r of progress bars).
    return io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="\n")


def _kill_tree(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the child's process group and every descendant.

    torchrun starts its workers in sessions of their own, so the group alone does
    not reach them; they are found through the process tree.
    """
    descendants = _descendants(proc.pid)
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for process in descendants:
        try:
            process.send_signal(sig)
        except Exception:  # noqa: BLE001 - psutil.Error: it is gone already
            pass


def _descendants(pid: int) -> list[Any]:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class InProcessExecutor:
    """Runs a job in this process with :func:`runner.main.run_job` (tests, light data set jobs).

    A spec with ``env`` has it applied to ``os.environ`` for the job's duration, and
    such jobs run one at a time so those changes cannot leak between jobs.
    """

    _env_lock = threading.Lock()

    def execute(self, spec: JobSpec, on_event: EventCallback, cancel: threading.Event) -> Any:
        if not spec.env:
            return run_job(spec, on_event, cancel)
        with self._env_lock, _patched_environ(spec.env):
            return run_job(spec, on_event, cancel)


class _patched_environ:
    def __init__(self, extra: Mapping[str, str]):
        self.extra = dict(extra)
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self.extra.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *exc: object) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
