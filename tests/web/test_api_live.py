"""The API and the ``compose`` client against a live server: daphne and a Huey worker on a
free port (tests/e2e/stack.py), the real client in a subprocess, the tiny SFT example
trained by real runner processes."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.e2e.stack import ROOT, manage, running_stack
from training.management.commands import _tiny

pytestmark = pytest.mark.slow

SETUP = """
import json
from django.contrib.auth.models import User
from training.actions.tokens import create_token, revoke_token
from training.models import Membership, Workspace
alice = User.objects.create_user("alice", password="alice-password")
bob = User.objects.create_user("bob", password="bob-password")
lab = Workspace.objects.create(name="Lab", slug="lab")
other = Workspace.objects.create(name="Other", slug="other")
Membership.objects.create(user=alice, workspace=lab, role=Membership.Role.OWNER)
Membership.objects.create(user=bob, workspace=other, role=Membership.Role.OWNER)
revoked, revoked_raw = create_token(alice, "old")
revoke_token(revoked)
print(json.dumps({"alice": create_token(alice, "cli")[1], "bob": create_token(bob, "cli")[1],
                  "revoked": revoked_raw}))
"""

BROKEN = """\
components:
  - id: qa-lines
    type: datasets
    provider: local
    loader: json
    data_files: ./data/tiny-sft.jsonl
    fraction: lots
workflows:
  - id: tiny-sft
    jobs:
      - id: load
        component: nowhere
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("api-live")
    with running_stack(base) as (url, env):
        tokens = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
        manage(env, "make_tiny_model", "--workspace", "lab", timeout=300)
        (base / "tiny-sft.yaml").write_text(_tiny.DOCUMENT, encoding="utf-8")
        (base / "broken.yaml").write_text(BROKEN, encoding="utf-8")
        stack = {"url": url, "tokens": tokens, "base": base}
        # Each test may run alone (or on another xdist worker): the document is there from the start.
        status, _ = api(
            stack,
            tokens["alice"],
            "POST",
            "/documents",
            {"workspace": "lab", "name": "tiny-sft", "yaml": _tiny.DOCUMENT},
        )
        assert status == 201
        yield stack


def client_env(stack, token: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DJANGO_"))}
    env.update(
        {"XDG_CONFIG_HOME": str(home), "COMPOSE_SERVER": stack["url"], "COMPOSE_TOKEN": token, "PYTHONUNBUFFERED": "1"}
    )
    return env


def compose(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "compose.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def api(stack, token: str, method: str, path: str, body=None):
    request = urllib.request.Request(
        stack["url"] + "/api/v1" + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_json(stack, token: str, path: str):
    status, body = api(stack, token, "GET", path)
    assert status == 200, (path, body)
    return json.loads(body)


def wait_for(predicate, timeout: float = 120, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError("condition not met in time")


def test_login_then_submit_the_tiny_sft_example_and_follow_it_to_success(stack, tmp_path):
    token = stack["tokens"]["alice"]
    env = client_env(stack, token, tmp_path)
    del env["COMPOSE_SERVER"], env["COMPOSE_TOKEN"]
    login = compose(env, "remote", "login", stack["url"], "--token", token)
    assert login.returncode == 0, login.stderr
    config = tmp_path / "compose" / "remote.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {"url": stack["url"], "token": token}

    done = compose(
        env, "submit", str(stack["base"] / "tiny-sft.yaml"), "tiny-sft", "--workspace", "lab", "--input", "epochs=2"
    )
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert output is not None
    run_id = int(done.stderr.split("compose: run ", 1)[1].split()[0])
    run = get_json(stack, token, f"/runs/{run_id}")
    assert run["status"] == "succeeded" and run["inputs"]["epochs"] == 2

    # What the terminal showed is what the run page charts: the metric events, as the
    # metrics endpoint also serves them.
    events, after = [], 0
    while True:
        page = get_json(stack, token, f"/runs/{run_id}/events?after={after}")
        events += page["events"]
        after = page["last_seq"]
        if not page["more"]:
            break
    metric_events = [e["event"] for e in events if e["type"] == "metric"]
    losses = [
        (m["step"], m["values"]["loss"])
        for m in metric_events
        if m.get("split", "train") == "train" and "loss" in m["values"]
    ]
    assert losses
    series = {
        (s["job"], s["name"], s["split"]): s["points"]
        for s in get_json(stack, token, f"/runs/{run_id}/metrics")["series"]
    }
    assert [(p["step"], p["value"]) for p in series[("train", "loss", "train")]] == losses
    for step, loss in losses:
        assert f"[train] step {step} " in done.stderr and f"loss={loss:.4g}" in done.stderr

    # logs replays the same lines; download brings the run folder and an artifact
    logs = compose(env, "logs", str(run_id))
    assert logs.returncode == 0 and "[train] step" in logs.stderr
    listed = compose(env, "runs", "--workspace", "lab", "--status", "succeeded")
    assert listed.returncode == 0 and str(run_id) in listed.stdout and "tiny-sft" in listed.stdout
    out = tmp_path / "downloads"
    whole = compose(env, "download", str(run_id), "-o", str(out))
    assert whole.returncode == 0, whole.stderr
    with zipfile.ZipFile(out / f"run-{run_id}.zip") as archive:
        assert any(name.endswith("config.json") for name in archive.namelist())
    artifacts = get_json(stack, token, f"/runs/{run_id}/artifacts")
    assert artifacts
    one = compose(env, "download", str(run_id), str(artifacts[-1]["id"]), "-o", str(out / "one"))
    assert one.returncode == 0, one.stderr
    assert any((out / "one").iterdir())

    # submitting the same file again reuses the document
    docs = get_json(stack, token, "/documents?workspace=lab&name=tiny-sft")["results"]
    assert len(docs) == 1


def interrupt_submit(env: dict[str, str], file: str, answer: str) -> tuple[int, int]:
    """Submit a long run, press Ctrl-C once training shows, answer the question; return
    the run's id and the client's exit code."""
    # A test process of pytest-xdist ignores SIGINT, and a child inherits that: give the
    # client the default Ctrl-C a terminal would.
    process = subprocess.Popen(
        [sys.executable, "-m", "compose.cli", "submit", file, "tiny-sft", "-w", "lab", "--input", "epochs=5000"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = []
    try:
        for line in process.stderr:
            seen.append(line)
            if line.startswith("[train] step"):
                break
        run_id = int("".join(seen).split("compose: run ", 1)[1].split()[0])
        process.send_signal(signal.SIGINT)
        process.stdin.write(answer + "\n")
        process.stdin.flush()
        _, rest = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert "[c]ancel / [d]etach" in rest, "".join(seen) + rest
    return run_id, process.returncode


def test_cancel_from_the_client(stack, tmp_path):
    token = stack["tokens"]["alice"]
    env = client_env(stack, token, tmp_path)
    tiny = str(stack["base"] / "tiny-sft.yaml")

    # Ctrl-C while following asks; answering "c" cancels the run on the server.
    run_id, code = interrupt_submit(env, tiny, answer="c")
    assert code == 130
    assert get_json(stack, token, f"/runs/{run_id}")["status"] == "cancelled"

    # Answering "d" detaches: the client exits, the run goes on.
    run_id, code = interrupt_submit(env, tiny, answer="d")
    assert code == 130
    assert get_json(stack, token, f"/runs/{run_id}")["status"] == "running"
    assert compose(env, "cancel", str(run_id)).returncode == 0

    # compose cancel: a detached run is stopped; following it then ends with the outcome.
    queued = compose(env, "submit", tiny, "tiny-sft", "-w", "lab", "--input", "epochs=5000", "--detach")
    assert queued.returncode == 0, queued.stderr
    run_id = json.loads(queued.stdout)["run"]
    wait_for(lambda: get_json(stack, token, f"/runs/{run_id}")["status"] == "running")
    cancel = compose(env, "cancel", str(run_id))
    assert cancel.returncode == 0 and "cancel requested" in cancel.stderr
    followed = compose(env, "logs", str(run_id), "--follow")
    assert followed.returncode == 130 and "cancelled" in followed.stderr
    assert compose(env, "cancel", str(run_id)).returncode == 1  # it has ended


def test_another_workspaces_token_gets_404_and_a_revoked_one_401(stack, tmp_path):
    alice = stack["tokens"]["alice"]
    doc_id = get_json(stack, alice, "/documents?workspace=lab")["results"][0]["id"]
    status, body = api(
        stack, alice, "POST", "/runs", {"document": doc_id, "workflow": "tiny-sft", "inputs": {"epochs": 1}}
    )
    assert status == 201
    run_id = json.loads(body)["id"]
    bob = stack["tokens"]["bob"]
    for method, path, body in [
        ("GET", f"/documents/{doc_id}", None),
        ("PUT", f"/documents/{doc_id}", {"yaml": "x: 1"}),
        ("GET", f"/documents/{doc_id}/export", None),
        ("GET", "/documents?workspace=lab", None),
        ("POST", "/documents", {"workspace": "lab", "name": "x", "yaml": _tiny.DOCUMENT}),
        ("POST", "/runs", {"document": doc_id}),
        ("GET", f"/runs/{run_id}", None),
        ("GET", "/runs?workspace=lab", None),
        ("POST", f"/runs/{run_id}/cancel", None),
        ("POST", f"/runs/{run_id}/rerun", None),
        ("POST", f"/runs/{run_id}/resume", None),
        ("GET", f"/runs/{run_id}/events", None),
        ("GET", f"/runs/{run_id}/events/stream", None),
        ("GET", f"/runs/{run_id}/metrics", None),
        ("GET", f"/runs/{run_id}/artifacts", None),
        ("GET", f"/runs/{run_id}/artifacts/1/download", None),
        ("GET", f"/runs/{run_id}/download", None),
    ]:
        status, answer = api(stack, bob, method, path, body)
        assert status == 404, (method, path, status)
        assert json.loads(answer)["errors"][0]["message"]
    env = client_env(stack, bob, tmp_path)
    for args in (["logs", str(run_id)], ["cancel", str(run_id)], ["download", str(run_id), "-o", str(tmp_path)]):
        result = compose(env, *args)
        assert result.returncode == 1 and "No such run" in result.stderr, args

    revoked = stack["tokens"]["revoked"]
    for path in ("/workspaces", f"/runs/{run_id}", "/documents"):
        status, answer = api(stack, revoked, "GET", path)
        assert status == 401 and json.loads(answer)["errors"]
    result = compose(client_env(stack, revoked, tmp_path), "runs")
    assert result.returncode == 1 and "401" in result.stderr


def test_a_yaml_with_mistakes_comes_back_with_every_problem_and_its_line(stack, tmp_path):
    alice = stack["tokens"]["alice"]
    status, body = api(stack, alice, "POST", "/validate", {"yaml": BROKEN})
    problems = [p for p in json.loads(body)["problems"] if p["severity"] == "error"]
    assert status == 200 and len(problems) >= 2 and all(p["line"] for p in problems)
    env = client_env(stack, alice, tmp_path)
    broken = stack["base"] / "broken.yaml"
    result = compose(env, "submit", str(broken), "-w", "lab")
    assert result.returncode == 1
    for problem in problems:
        assert f"{broken}:{problem['line']}:{problem['column']}: {problem['path']}: " in result.stderr


def test_the_event_stream_works_with_curl_style_reading(stack):
    """A plain HTTP reader (as ``curl -N``) sees events as they are written, then ``end``."""
    alice = stack["tokens"]["alice"]
    doc_id = get_json(stack, alice, "/documents?workspace=lab&name=tiny-sft")["results"][0]["id"]
    status, body = api(stack, alice, "POST", "/runs", {"document": doc_id, "inputs": {"epochs": 1}})
    run_id = json.loads(body)["id"]
    request = urllib.request.Request(
        stack["url"] + f"/api/v1/runs/{run_id}/events/stream", headers={"Authorization": f"Bearer {alice}"}
    )
    kinds, seqs = [], []
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        for raw in response:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kinds.append(line[7:])
            elif line.startswith("id: "):
                seqs.append(int(line[4:]))
    assert kinds[-1] == "end" and seqs == list(range(1, len(seqs) + 1))
    assert get_json(stack, alice, f"/runs/{run_id}")["status"] in ("succeeded", "failed")
