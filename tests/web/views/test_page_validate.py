"""The validate-as-you-type endpoint."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from tests.web.views.conftest import SEED_EXAMPLE, line_of

pytestmark = pytest.mark.django_db


def check(client, text):
    return client.post(reverse("training:validate_yaml"), json.dumps({"text": text}), content_type="application/json")


def test_a_valid_file_is_ok_with_a_summary(alice_client):
    data = check(alice_client, SEED_EXAMPLE).json()
    assert data["ok"] is True and data["problems"] == []
    assert data["summary"] == {"components": 3, "workflows": [{"id": "train-custom", "jobs": 3}]}


def test_every_problem_comes_back_with_its_line_and_column(alice_client):
    text = SEED_EXAMPLE.replace("lora_r: 8", "lora_r: eight").replace("num_epochs: 5", "num_epoch: 5")
    data = check(alice_client, text).json()
    assert data["ok"] is False
    where = {(p["path"], p["line"]) for p in data["problems"]}
    assert ("components[2].lora_r", line_of(text, "lora_r:")) in where
    assert ("components[2].num_epoch", line_of(text, "num_epoch:")) in where


def test_a_yaml_syntax_error_has_a_position(alice_client):
    data = check(alice_client, "components:\n  - id: [x\n").json()
    assert data["ok"] is False and data["problems"][0]["line"] is not None


def test_login_is_required(client):
    response = check(client, SEED_EXAMPLE)
    assert response.status_code == 302
