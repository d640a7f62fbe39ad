"""The REST API through Django's test client: documents, validation, runs, events, metrics,
cursor pagination, the rate limit on run creation and the OpenAPI document."""

from __future__ import annotations

import json

import pytest

from compose import events as ev
from tests.web.factories import TINY_DOCUMENT, make_run
from training.actions import record_event
from training.actions.tokens import create_token
from training.models import ComposeDocument, Run

pytestmark = pytest.mark.django_db

BROKEN = """\
components:
  - id: rows
    type: datasets
    provider: local
    loader: json
    data_files: ./data/rows.jsonl
    fraction: lots
workflows:
  - id: load-rows
    jobs:
      - id: load
        component: nowhere
"""


@pytest.fixture
def api(client, alice, workspace):
    _, raw = create_token(alice, "tests")

    class Api:
        def get(self, url, **params):
            return client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {raw}")

        def post(self, url, body=None):
            return client.post(
                url, json.dumps(body or {}), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
            )

        def put(self, url, body):
            return client.put(
                url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
            )

    return Api()


def test_create_get_replace_and_export_a_document(api, workspace):
    created = api.post("/api/v1/documents", {"workspace": "lab", "name": "tiny", "yaml": TINY_DOCUMENT})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["workflows"] == ["load-rows"] and body["valid"] and body["yaml"] == TINY_DOCUMENT
    again = api.post("/api/v1/documents", {"workspace": "lab", "name": "tiny", "yaml": TINY_DOCUMENT})
    assert again.status_code == 409 and again.json()["errors"][0]["path"] == "name"
    doc_id = body["id"]
    assert api.get(f"/api/v1/documents/{doc_id}").json()["name"] == "tiny"
    renamed = api.put(f"/api/v1/documents/{doc_id}", {"yaml": "# hello\n" + TINY_DOCUMENT, "name": "tiny2"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "tiny2"
    assert ComposeDocument.objects.get(pk=doc_id).yaml_text.startswith("# hello")
    listed = api.get("/api/v1/documents", workspace="lab", name="tiny2").json()["results"]
    assert [d["id"] for d in listed] == [doc_id]
    seed = api.get(f"/api/v1/documents/{doc_id}/export")
    assert seed.status_code == 200 and seed["Content-Type"].startswith("application/yaml")
    assert b"# hello" in seed.content
    nested = api.get(f"/api/v1/documents/{doc_id}/export", dialect="nested")
    assert nested.status_code == 200 and b"load-rows" in nested.content
    assert api.get(f"/api/v1/documents/{doc_id}/export", dialect="odd").status_code == 422


def test_a_yaml_with_mistakes_comes_back_with_every_problem_located(api, workspace):
    checked = api.post("/api/v1/validate", {"yaml": BROKEN}).json()
    assert checked["ok"] is False
    errors = [p for p in checked["problems"] if p["severity"] == "error"]
    assert len(errors) >= 2 and all(p["line"] and p["column"] for p in errors)
    refused = api.post("/api/v1/documents", {"workspace": "lab", "name": "broken", "yaml": BROKEN})
    assert refused.status_code == 400
    assert [(e["path"], e["line"], e["column"]) for e in refused.json()["errors"]] == [
        (p["path"], p["line"], p["column"]) for p in errors
    ]
    assert not ComposeDocument.objects.filter(name="broken").exists()
    assert api.post("/api/v1/validate", {"yaml": TINY_DOCUMENT}).json() == {"ok": True, "problems": []}


def test_a_request_with_a_missing_field_names_it(api):
    response = api.post("/api/v1/documents", {"workspace": "lab"})
    assert response.status_code == 422
    assert {e["path"] for e in response.json()["errors"]} == {"name", "yaml"}


def test_runs_are_created_listed_filtered_cancelled_rerun_and_resumed(api, workspace, alice, bob):
    doc = ComposeDocument.objects.create(workspace=workspace, name="tiny", yaml_text=TINY_DOCUMENT)
    created = api.post("/api/v1/runs", {"document": doc.pk, "workflow": "load-rows", "inputs": {}})
    assert created.status_code == 201, created.content
    run = created.json()
    assert run["status"] == "queued" and run["created_by"] == "alice" and run["workflow"] == "load-rows"
    refused = api.post("/api/v1/runs", {"document": doc.pk, "workflow": "nope"})
    assert refused.status_code == 400 and "nope" in refused.json()["errors"][0]["message"]
    make_run(workspace, bob, status="failed")
    assert [r["id"] for r in api.get("/api/v1/runs", status="queued").json()["results"]] == [run["id"]]
    assert len(api.get("/api/v1/runs", status=["queued", "failed"]).json()["results"]) == 2
    assert [r["created_by"] for r in api.get("/api/v1/runs", user="bob").json()["results"]] == ["bob"]
    assert [r["id"] for r in api.get("/api/v1/runs", document=doc.pk).json()["results"]] == [run["id"]]
    assert api.get("/api/v1/runs", created_before="2000-01-01T00:00:00Z").json()["results"] == []
    cancelled = api.post(f"/api/v1/runs/{run['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    twice = api.post(f"/api/v1/runs/{run['id']}/cancel")
    assert twice.status_code == 409 and twice.json()["errors"][0]["path"] == "status"
    rerun = api.post(f"/api/v1/runs/{run['id']}/rerun").json()
    assert rerun["rerun_of"] == run["id"] and rerun["status"] == "queued"
    resumed = api.post(f"/api/v1/runs/{run['id']}/resume").json()
    assert resumed["resumed_from"] == run["id"]
    assert api.post(f"/api/v1/runs/{rerun['id']}/resume").status_code == 409


def test_lists_page_with_a_cursor(api, workspace, alice):
    ids = [make_run(workspace, alice).pk for _ in range(5)]
    seen, url = [], "/api/v1/runs?page_size=2"
    while url:
        page = api.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert seen == sorted(ids, reverse=True)


def test_run_creation_is_rate_limited_per_token(api, workspace, settings):
    from django.core.cache import cache

    cache.clear()
    settings.COMPOSE_API_RUN_RATE = "2/m"
    doc = ComposeDocument.objects.create(workspace=workspace, name="tiny", yaml_text=TINY_DOCUMENT)
    statuses = [api.post("/api/v1/runs", {"document": doc.pk}).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    cache.clear()


def test_events_page_from_a_seq_and_metrics_come_as_series(api, workspace, alice):
    run = make_run(workspace, alice)
    record_event(run, ev.log("train", "hello"))
    record_event(run, ev.metric("train", 1, {"loss": 2.0, "learning_rate": 1e-3}, epoch=0.5))
    record_event(run, ev.metric("train", 2, {"loss": 1.5}, epoch=1.0))
    record_event(run, ev.metric("train", 2, {"eval_loss": 1.7}, split="eval"))
    first = api.get(f"/api/v1/runs/{run.pk}/events", limit=2).json()
    assert [e["seq"] for e in first["events"]] == [1, 2] and first["more"] and not first["final"]
    assert first["events"][0]["event"]["message"] == "hello" and first["events"][0]["job"] == "train"
    rest = api.get(f"/api/v1/runs/{run.pk}/events", after=first["last_seq"]).json()
    assert [e["seq"] for e in rest["events"]] == [3, 4] and not rest["more"]
    series = {(s["name"], s["split"]): s["points"] for s in api.get(f"/api/v1/runs/{run.pk}/metrics").json()["series"]}
    assert series[("loss", "train")] == [
        {"step": 1, "epoch": 0.5, "value": 2.0},
        {"step": 2, "epoch": 1.0, "value": 1.5},
    ]
    assert series[("eval_loss", "eval")][0]["value"] == 1.7


@pytest.mark.django_db(transaction=True)  # the stream's reads close connections, as in production
def test_the_event_stream_sends_what_is_stored_then_ends_with_the_run(api, workspace, alice):
    run = make_run(workspace, alice)
    record_event(run, ev.log("train", "one"))
    record_event(run, ev.log("train", "two"))
    Run.objects.filter(pk=run.pk).update(status="succeeded")
    response = api.get(f"/api/v1/runs/{run.pk}/events/stream", after=1)
    assert response["Content-Type"] == "text/event-stream"
    from asgiref.sync import async_to_sync

    async def read():
        return b"".join([chunk async for chunk in response.streaming_content])

    text = async_to_sync(read)().decode()
    assert "id: 2\nevent: event\n" in text and '"message": "two"' in text and '"one"' not in text
    assert text.rstrip().endswith('data: {"status": "succeeded", "last_seq": 2}')


def test_the_openapi_document_validates_and_lists_every_endpoint(client):
    from openapi_spec_validator import validate

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    paths = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    expected = {
        ("/api/v1/workspaces", "get"),
        ("/api/v1/documents", "get"),
        ("/api/v1/documents", "post"),
        ("/api/v1/documents/{document_id}", "get"),
        ("/api/v1/documents/{document_id}", "put"),
        ("/api/v1/validate", "post"),
        ("/api/v1/documents/{document_id}/export", "get"),
        ("/api/v1/runs", "post"),
        ("/api/v1/runs", "get"),
        ("/api/v1/runs/{run_id}", "get"),
        ("/api/v1/runs/{run_id}/cancel", "post"),
        ("/api/v1/runs/{run_id}/resume", "post"),
        ("/api/v1/runs/{run_id}/rerun", "post"),
        ("/api/v1/runs/{run_id}/events", "get"),
        ("/api/v1/runs/{run_id}/events/stream", "get"),
        ("/api/v1/runs/{run_id}/metrics", "get"),
        ("/api/v1/runs/{run_id}/artifacts", "get"),
        ("/api/v1/runs/{run_id}/artifacts/{artifact_id}/download", "get"),
        ("/api/v1/runs/{run_id}/download", "get"),
        ("/api/v1/sweeps", "post"),
    }
    assert paths == expected
    assert spec["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def test_the_browsable_docs_page_keeps_to_the_content_security_policy(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>" not in html and "cdn" not in html.lower() and " style=" not in html
