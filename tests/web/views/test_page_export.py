"""Export in the seed and nested dialects as .yaml downloads."""

from __future__ import annotations

import pytest
import yaml
from django.urls import reverse

from compose.loader import load_compose
from tests.web.views.conftest import SEED_EXAMPLE

pytestmark = pytest.mark.django_db


def test_seed_export_is_the_text_as_written(alice_client, document):
    response = alice_client.get(reverse("training:document_export", args=[document.pk, "seed"]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="custom.yaml"'
    assert response.content.decode() == SEED_EXAMPLE


def test_nested_export_uses_the_nested_form_and_loads_back_to_the_same_model(alice_client, document):
    response = alice_client.get(reverse("training:document_export", args=[document.pk, "nested"]))
    text = response.content.decode()
    assert response["Content-Disposition"] == 'attachment; filename="custom.nested.yaml"'
    trainer = yaml.safe_load(text)["components"][2]
    assert trainer["lora"]["rank"] == 8 and "lora_r" not in trainer
    assert load_compose(text) == load_compose(SEED_EXAMPLE)


def test_unknown_dialect_and_strangers_get_404(alice_client, bob_client, document):
    assert alice_client.get(reverse("training:document_export", args=[document.pk, "xml"])).status_code == 404
    assert bob_client.get(reverse("training:document_export", args=[document.pk, "seed"])).status_code == 404
