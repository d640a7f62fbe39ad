"""/validate.json on hostile and broken text: alias bombs, text over the size limit, bodies
over Django's limit, values YAML cannot build, and a sample of the mutant corpus. Every
answer is JSON with located problems; none is a 500."""

from __future__ import annotations

import json
import tracemalloc

import pytest
from django.conf import settings
from django.urls import reverse

from compose.yamlio.limits import MAX_BYTES
from tests.compose.mutants import mutants
from tests.compose.yaml_attacks import BOMBS, CRASHES

pytestmark = pytest.mark.django_db

SAMPLE = 600  # of the 3,600 mutants the core reads: every sixth


def check(client, text):
    return client.post(reverse("training:validate_yaml"), json.dumps({"text": text}), content_type="application/json")


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sorted(BOMBS))
def test_an_alias_bomb_is_answered_at_once_with_its_line(alice_client, name):
    tracemalloc.start()  # the timeout mark catches a hang; this, the memory the server took
    try:
        response = check(alice_client, BOMBS[name])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    data = response.json()
    assert data["ok"] is False and len(data["problems"]) == 1
    assert data["problems"][0]["line"] is not None and "counting each alias" in data["problems"][0]["message"]
    assert peak < 20_000_000


def test_text_over_the_size_limit_is_refused_unparsed_with_400(alice_client):
    response = check(alice_client, "a: " + "x" * MAX_BYTES)
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "summary": None,
        "problems": [
            {
                "path": "",
                "line": 1,
                "column": 1,
                "severity": "error",
                "message": f"the file is {MAX_BYTES + 3:,} bytes; a compose file may be at most {MAX_BYTES:,} bytes, "
                "so it was not read",
            }
        ],
    }


@pytest.mark.parametrize("as_json", [True, False])
def test_a_body_over_the_request_limit_is_refused_with_400_json(alice_client, as_json):
    text = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    url = reverse("training:validate_yaml")
    response = (
        alice_client.post(url, json.dumps({"text": text}), content_type="application/json")
        if as_json
        else alice_client.post(url, {"text": text})
    )
    assert response.status_code == 400
    problems = response.json()["problems"]
    assert [(p["line"], p["column"]) for p in problems] == [(1, 1)] and "was not read" in problems[0]["message"]


@pytest.mark.parametrize("body", ['{"text": 5}', '{"text": ["a"]}', "[1, 2]", '"text"', "not json", b"\xff\xfe"])
def test_a_body_without_text_is_a_400_not_a_500(alice_client, body):
    response = alice_client.post(reverse("training:validate_yaml"), body, content_type="application/json")
    assert response.status_code == 400 and "error" in response.json()


@pytest.mark.parametrize("name", sorted(CRASHES))
def test_what_gave_a_500_is_a_located_problem(alice_client, name):
    text, line, column = CRASHES[name]
    response = check(alice_client, text)
    assert response.status_code == 200
    assert [(p["line"], p["column"]) for p in response.json()["problems"]][:1] == [(line, column)]


def test_mutants_get_answers_whose_problems_say_where(alice_client):
    failures = []
    for number, mutant in enumerate(mutants(SAMPLE * 6)):
        if number % 6:
            continue
        response = check(alice_client, mutant.text)
        if response.status_code != 200:
            failures.append(f"{mutant.name}: HTTP {response.status_code}")
            continue
        failures += [f"{mutant.name}: {p}" for p in response.json()["problems"] if p["line"] is None and not p["path"]]
    assert failures == []
