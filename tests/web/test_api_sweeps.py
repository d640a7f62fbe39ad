"""POST /api/v1/sweeps: every combination of some inputs' values queued as one sweep, or none."""

from __future__ import annotations

import json

import pytest

from training.actions import create_document
from training.actions.tokens import create_token
from training.models import Run, Sweep

pytestmark = pytest.mark.django_db

DOC = """\
components:
  - id: trainer
    type: model-trainer
    task: sft
    model: ./models/tiny
    peft_adapter: lora
    dataset: ${input.data as json | []}
    learning_rate: ${input.learning_rate | 5e-5}
    lora_r: ${input.lora_r | 8}
workflows:
  - id: train
    jobs:
      - id: train
        component: trainer
"""


@pytest.fixture
def post(client, alice):
    _, raw = create_token(alice, "tests")

    def post(body):
        return client.post(
            "/api/v1/sweeps", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
        )

    return post


@pytest.fixture
def document(workspace, alice):
    return create_document(workspace, alice, "doc", DOC)


def test_a_2x2_sweep_queues_four_runs(post, document):
    response = post({"document": document.pk, "sweep": {"learning_rate": [1e-4, "5e-5"], "lora_r": [8, 16]}})
    assert response.status_code == 201, response.content
    body = response.json()
    runs = list(Run.objects.order_by("pk"))
    assert body["runs"] == [run.pk for run in runs] and body["workflow"] == "train"
    assert body["values"] == {"learning_rate": [1e-4, 5e-5], "lora_r": [8, 16]}
    assert body["compare"].endswith(f"/w/lab/compare/?runs={','.join(str(run.pk) for run in runs)}")
    assert [run.inputs for run in runs] == [
        {"learning_rate": 1e-4, "lora_r": 8},
        {"learning_rate": 1e-4, "lora_r": 16},
        {"learning_rate": 5e-5, "lora_r": 8},
        {"learning_rate": 5e-5, "lora_r": 16},
    ]
    assert Sweep.objects.get().pk == body["id"]


def test_bad_values_and_big_grids_are_refused_with_the_input_named(post, document):
    bad = post({"document": document.pk, "sweep": {"lora_r": [8, "many"]}})
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "inputs.lora_r"
    big = post({"document": document.pk, "sweep": {"learning_rate": list(range(1, 7)), "lora_r": list(range(1, 9))}})
    assert big.status_code == 400 and "48 runs; the most is 32" in big.json()["errors"][0]["message"]
    assert post({"document": document.pk, "sweep": {"lora_r": "8, 16"}}).status_code == 422
    assert not Run.objects.exists() and not Sweep.objects.exists()


def test_a_stranger_gets_404(client, bob, document):
    _, raw = create_token(bob, "tests")
    response = client.post(
        "/api/v1/sweeps",
        json.dumps({"document": document.pk, "sweep": {"lora_r": [8, 16]}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 404 and not Run.objects.exists()
