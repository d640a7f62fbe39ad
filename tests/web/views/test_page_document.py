"""The document page: component cards, workflow graph, YAML tab, runs tab."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.views.conftest import SEED_EXAMPLE, line_of

pytestmark = pytest.mark.django_db


def test_document_shows_components_workflow_graph_and_yaml(alice_client, document):
    html = alice_client.get(reverse("training:document", args=[document.pk])).content.decode()
    for component_id in ("local-data", "data-processor", "custom-trainer"):
        assert f'data-component="{component_id}"' in html
    # the graph draws one arrow per depends_on
    assert 'data-edge="load->process"' in html and 'data-edge="process->train"' in html
    assert "# peak learning rate" in html  # the YAML tab holds the text as written
    assert reverse("training:run_new", args=[document.pk, "train-custom"]) in html
    assert reverse("training:document_export", args=[document.pk, "nested"]) in html


def test_a_non_member_gets_404(bob_client, document):
    assert bob_client.get(reverse("training:document", args=[document.pk])).status_code == 404


def test_saving_yaml_with_errors_keeps_the_text_and_names_the_line(alice_client, document):
    broken = SEED_EXAMPLE.replace("lora_alpha: 16", "lora_alpah: 16")
    response = alice_client.post(reverse("training:document_save_yaml", args=[document.pk]), {"yaml_text": broken})
    html = response.content.decode()
    assert response.status_code == 400
    assert "lora_alpah" in html and "lora_alpha" in html  # did you mean
    assert f"line {line_of(broken, 'lora_alpah')}, column 5" in html
    document.refresh_from_db()
    assert document.yaml_text == SEED_EXAMPLE


def test_saving_valid_yaml_updates_the_document(alice_client, alice, document):
    changed = SEED_EXAMPLE.replace("num_epochs: 5", "num_epochs: 2")
    response = alice_client.post(reverse("training:document_save_yaml", args=[document.pk]), {"yaml_text": changed})
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.yaml_text == changed and document.updated_by == alice


def test_every_component_type_has_a_card_with_its_essential_fields_and_an_edit_link(alice_client, workspace, alice):
    from training.actions import create_document

    text = (
        "components:\n"
        "  - {id: gen, type: model, task: text-generation, model: ./m, prompt: Hello, max_output_length: 8,"
        " temperature: 0.5, do_sample: true}\n"
        "workflows:\n"
        "  - {id: try, jobs: [{id: say, component: gen}]}\n"
    )
    doc = create_document(workspace, alice, "gen", text)
    html = alice_client.get(reverse("training:document", args=[doc.pk])).content.decode()
    assert reverse("training:component_edit", args=[doc.pk, "gen"]) in html
    card = html[html.index('data-component="gen"') :]
    card = card[: card.index("</dl>")]
    # the schema marks prompt and max_output_length essential; temperature is not on the card
    assert "Hello" in card and "max_output_length" in card and "temperature" not in card
