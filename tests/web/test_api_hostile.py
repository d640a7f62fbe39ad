"""Hostile requests to the REST API: malformed bodies, oversized or bomb YAML, odd ids,
cursors and filters, another workspace's names. Each gets an error body, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.compose.yaml_attacks import BOMBS
from tests.web.factories import TINY_DOCUMENT, make_run
from training.actions.tokens import create_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(client, alice, workspace):
    _, raw = create_token(alice, "tests")

    def send(method: str, url: str, body=None, raw_body: str | None = None):
        data = raw_body if raw_body is not None else (json.dumps(body) if body is not None else "")
        return client.generic(method, url, data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")

    return send


def refused(response, *codes: int) -> dict:
    assert response.status_code in codes, (response.status_code, response.content[:300])
    body = response.json()
    assert body["errors"] and all("message" in e for e in body["errors"])
    return body


@pytest.mark.parametrize(
    "raw_body", ["{", "[]", "null", '"x"', '{"workspace": 7, "name": [], "yaml": {}}', "\x00\x01{"]
)
def test_a_malformed_body_is_refused_with_the_error_body(call, raw_body):
    refused(call("POST", "/api/v1/documents", raw_body=raw_body), 400, 422)


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_yaml_bomb_or_an_oversized_file_is_a_located_problem(call, name):
    for url in ("/api/v1/validate", "/api/v1/documents"):
        body = {"workspace": "lab", "name": "bomb", "yaml": BOMBS[name]}
        response = call("POST", url, body)
        assert response.status_code in (200, 400, 413, 422), response.status_code
        assert "Traceback" not in response.content.decode()
    big = call("POST", "/api/v1/documents", {"workspace": "lab", "name": "big", "yaml": "#" * 1_100_000})
    assert big.status_code in (400, 413, 422)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/runs/abc",
        "/api/v1/runs/-1",
        "/api/v1/runs/99999999999999999999",
        "/api/v1/documents/..%2F..%2Fetc",
        "/api/v1/runs/1/events?after=-5",
        "/api/v1/runs/1/events?after=x",
        "/api/v1/runs?cursor=%00%ff",
        "/api/v1/runs?cursor=" + "A" * 5000,
        "/api/v1/runs?status=../../x",
        "/api/v1/runs?workspace=../other",
        "/api/v1/documents?workspace=%3Cscript%3E",
    ],
)
def test_odd_ids_cursors_and_filters_are_refused_not_crashed(call, url):
    response = call("GET", url)
    assert response.status_code in (200, 400, 404, 422), (url, response.status_code)
    if response.status_code != 200:
        refused(response, response.status_code)


def test_a_name_far_too_long_or_full_of_markup_is_refused_or_kept_as_text(call):
    long = call("POST", "/api/v1/documents", {"workspace": "lab", "name": "n" * 5000, "yaml": TINY_DOCUMENT})
    assert long.status_code in (201, 400, 422)
    marked = call(
        "POST", "/api/v1/documents", {"workspace": "lab", "name": "<script>x</script>", "yaml": TINY_DOCUMENT}
    )
    assert marked.status_code in (201, 400, 422)
    if marked.status_code == 201:
        assert marked.json()["name"] == "<script>x</script>"  # data, escaped where it is shown


def test_inputs_of_the_wrong_shape_are_refused(call, workspace, alice):
    document = call("POST", "/api/v1/documents", {"workspace": "lab", "name": "tiny", "yaml": TINY_DOCUMENT}).json()
    for inputs in ([], "x", {"a": {"b": [1] * 10}}, None):
        response = call("POST", "/api/v1/runs", {"document": document["id"], "workflow": "load-rows", "inputs": inputs})
        assert response.status_code in (201, 400, 422), (inputs, response.status_code)
    other = make_run(workspace, alice)
    assert call("POST", f"/api/v1/runs/{other.pk}/resume").status_code in (400, 409, 422)
