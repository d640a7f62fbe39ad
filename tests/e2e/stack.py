"""Start the real stack for browser tests: migrate a temporary SQLite database, then run
daphne (HTTP + websockets) and a Huey worker as child processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "compose_web.settings",
            "COMPOSE_VAR_DIR": str(base / "var"),
            "COMPOSE_WORKSPACES_DIR": str(base / "workspaces"),
            "COMPOSE_STORAGE_DIR": str(base / "storage"),
            "DEBUG": "1",  # static files straight from static/ (no collectstatic)
            "SECRET_KEY": "browser-test",
            "HUEY_IMMEDIATE": "0",
            "COMPOSE_EVENT_POLL_S": "0.2",
            "COMPOSE_HEARTBEAT_S": "0.5",
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _wait_http(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the web server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers (a redirect to the login page, say)
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def running_stack(base: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Yield (base URL, environment) of a migrated, running web server + worker."""
    env = stack_env(base)
    manage(env, "migrate", "--noinput")
    port = free_port()
    logs = base / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes = []
    try:
        with open(logs / "daphne.log", "w") as web_log, open(logs / "worker.log", "w") as worker_log:
            web = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "compose_web.asgi:application"],
                cwd=ROOT,
                env=env,
                stdout=web_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            processes.append(web)
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "run_huey"],
                cwd=ROOT,
                env=env,
                stdout=worker_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            processes.append(worker)
            url = f"http://127.0.0.1:{port}"
            _wait_http(url + "/accounts/login/", web)
            yield url, env
    finally:
        for process in reversed(processes):
            _stop(process)
