"""A run of one workspace reaches neither the server's keys nor another workspace's data."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from compose.jobspec import JobSpec
from datasets_app.models import MaterializedDataset
from tests.web.factories import make_run
from training.models import Membership, RunEvent, RunStatus, Workspace, WorkspaceSecret
from training.worker import execute_run

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = [{"text": f"row {i}"} for i in range(4)]
SERVER_KEYS = {
    "SECRET_KEY": "server-secret-key-0123456789",
    "COMPOSE_SECRETS_KEY": "fernet-0123456789abcdef",
    "DATABASE_URL": "postgres://app:db-password-0123@db/app",
    "REDIS_URL": "redis://:pw-0123456@r:6379/0",
}


class Recording:
    """Keeps each spec it is handed and returns a fixed output."""

    def __init__(self) -> None:
        self.specs: list[JobSpec] = []

    def execute(self, spec: JobSpec, on_event, cancel: threading.Event) -> Any:
        self.specs.append(spec)
        return {"type": "dataset", "fingerprint": "f" * 32, "path": "datasets/" + "f" * 32, "num_rows": 0}


def write_rows(workspace: Workspace) -> None:
    data = workspace.root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))


def test_env_bindings_read_only_allowed_variables_and_the_workspace_secrets(workspace, alice, monkeypatch):
    for name, value in SERVER_KEYS.items():
        monkeypatch.setenv(name, value)
    WorkspaceSecret.objects.put(workspace, "HF_TOKEN", "hf_workspace_token_0123")
    write_rows(workspace)
    doc = """\
components:
  - id: rows
    type: datasets
    provider: local
    loader: json
    data_files: ./data/rows.jsonl
    token: ${env.HF_TOKEN}
    name: ${env.DATABASE_URL}
    revision: ${env.COMPOSE_SECRETS_KEY}
workflows:
  - id: load-rows
    jobs:
      - id: load
        component: rows
"""
    executor = Recording()
    run = make_run(workspace, alice, yaml_snapshot=doc)
    assert execute_run(run.pk, executor=executor, worker="w") == "succeeded"
    spec = executor.specs[0]
    assert spec.config["token"] == "hf_workspace_token_0123"
    assert not spec.config.get("name") and not spec.config.get("revision")
    assert set(spec.env) == {"HF_TOKEN"}
    stored = json.dumps(list(RunEvent.objects.filter(run=run).values_list("payload", flat=True)))
    for value in SERVER_KEYS.values():
        assert value not in stored


def test_the_job_process_environment_has_no_server_key(monkeypatch, settings):
    from training.worker.execute import default_executor

    for name, value in SERVER_KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TEAM_PROXY", "http://proxy")
    settings.COMPOSE_EXECUTOR = "subprocess"
    settings.COMPOSE_JOB_ENV_ALLOW = ["TEAM_*"]
    executor = default_executor()
    assert not set(SERVER_KEYS) & set(executor.base_env)
    assert executor.base_env["TEAM_PROXY"] == "http://proxy" and "PATH" in executor.base_env


@pytest.mark.slow
def test_a_literal_reference_to_another_workspaces_data_set_finds_nothing(workspace, alice, bob):
    from runner.launch import InProcessExecutor

    write_rows(workspace)
    made = make_run(workspace, alice)
    assert execute_run(made.pk, executor=InProcessExecutor(), worker="w") == "succeeded"
    ref = made.job_runs.get(job_id="load").output
    assert MaterializedDataset.objects.get(fingerprint=ref["fingerprint"]).workspace == workspace

    other = Workspace.objects.create(name="Other", slug="other")
    Membership.objects.create(user=bob, workspace=other, role=Membership.Role.OWNER)
    doc = f"""\
components:
  - id: peek
    type: datasets
    method: filter
    dataset: {{type: dataset, fingerprint: {ref["fingerprint"]}, path: {ref["path"]}}}
    condition: "True"
workflows:
  - id: load-rows
    jobs:
      - id: load
        component: peek
"""
    run = make_run(other, bob, yaml_snapshot=doc)
    assert execute_run(run.pk, executor=InProcessExecutor(), worker="w") == "failed"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "is missing" in run.error
    stored = json.dumps(list(RunEvent.objects.filter(run=run).values_list("payload", flat=True)))
    assert "row 1" not in stored


def test_the_data_set_pages_show_only_the_users_workspaces(client, workspace, alice, bob):
    other = Workspace.objects.create(name="Other", slug="other")
    Membership.objects.create(user=bob, workspace=other, role=Membership.Role.OWNER)
    MaterializedDataset.objects.create(
        workspace=workspace,
        fingerprint="a" * 32,
        path="datasets/" + "a" * 32,
        num_rows=1,
        preview=[{"text": "alice's row"}],
    )
    client.force_login(bob)
    assert "alice&#x27;s row" not in client.get("/datasets/").content.decode()
    assert client.get(f"/datasets/{'a' * 32}/").status_code == 404
    client.force_login(alice)
    assert client.get(f"/datasets/{'a' * 32}/").status_code == 200
