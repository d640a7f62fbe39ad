"""The component editor: fields from the schema, live YAML preview, errors beside fields, save."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from compose.schema.components import OPTIMIZERS, ResourceSpec, TrainerComponent
from tests.web.views.conftest import seed_example
from training.forms.component import form_name

pytestmark = pytest.mark.django_db


def url(document, component_id, preview=False):
    return reverse("training:component_edit", args=[document.pk, component_id]) + ("?preview=1" if preview else "")


def form_data(response) -> dict[str, str]:
    """What the browser would send back for the page's form as rendered."""
    form = response.context["form"]
    data = {}
    for name in form.fields:
        value = form[name].value()
        data[name] = "" if value is None else str(value)
    return data


def test_every_trainer_field_has_an_input_with_help_and_default(alice_client, document):
    response = alice_client.get(url(document, "custom-trainer"))
    html = response.content.decode()
    assert response.status_code == 200
    fields = set(TrainerComponent.model_fields) - {"id", "type", "resources"}
    fields |= {f"resources.{name}" for name in ResourceSpec.model_fields}
    for name in fields:
        assert f'name="{form_name(name)}"' in html, name
    # enumerations are dropdowns offering every value, plus a binding
    select = re.search(r'<select name="optimizer".*?</select>', html, re.S).group(0)
    assert all(f'value="{o}"' in select for o in OPTIMIZERS) and "__binding__" in select
    assert "Default: 5e-05" in html  # learning_rate's default, from the schema
    for title in (
        "Learning rate and batch",
        "Optimizer",
        "Scheduler",
        "Evaluation and saving",
        "Memory",
        "Reproducibility",
        "LoRA",
        "Quantization (QLoRA)",
        "Processes",
    ):
        assert f"<legend>{title}</legend>" in html


def test_preview_changes_only_the_edited_field_and_keeps_comments(alice_client, document):
    page = alice_client.get(url(document, "custom-trainer"))
    data = form_data(page)
    assert data["learning_rate"] == "5e-5" and data["dataset"] == "${input.dataset}"
    data["learning_rate"] = "2e-4"
    result = alice_client.post(url(document, "custom-trainer", preview=True), data).json()
    assert result["ok"] is True and result["field_errors"] == {}
    expected = seed_example().replace("learning_rate: 5e-5   # peak", "learning_rate: 0.0002   # peak")
    assert result["yaml"] == expected
    document.refresh_from_db()
    assert document.yaml_text == seed_example()  # a preview saves nothing


def test_errors_appear_beside_the_field_they_concern(alice_client, document):
    data = form_data(alice_client.get(url(document, "custom-trainer")))
    data["peft_adapter"] = ""  # lora_r without LoRA: a schema rule
    data["per_device_train_batch_size"] = "eight"  # not a number: a form rule
    result = alice_client.post(url(document, "custom-trainer", preview=True), data).json()
    assert result["ok"] is False
    assert any("peft_adapter: lora" in m for m in result["field_errors"]["lora_r"])
    assert "whole number" in result["field_errors"]["per_device_train_batch_size"][0]


def test_a_binding_can_replace_a_dropdown_value(alice_client, document):
    data = form_data(alice_client.get(url(document, "custom-trainer")))
    data["optimizer"] = "__binding__"
    data["optimizer__binding"] = "${input.optimizer | adamw_torch}"
    result = alice_client.post(url(document, "custom-trainer", preview=True), data).json()
    assert "optimizer: ${input.optimizer | adamw_torch}" in result["yaml"]


def test_save_writes_the_document_and_a_bad_save_keeps_the_form(alice_client, document):
    data = form_data(alice_client.get(url(document, "custom-trainer")))
    data["num_epochs"] = "1"
    data["resources__gpus"] = "0"  # the default written explicitly
    assert alice_client.post(url(document, "custom-trainer"), data).status_code == 302
    document.refresh_from_db()
    assert "num_epochs: 1\n" in document.yaml_text and "# peak learning rate" in document.yaml_text
    data["lora_dropout"] = "1.5"
    response = alice_client.post(url(document, "custom-trainer"), data)
    assert response.status_code == 400
    assert response.context["field_errors"]["lora_dropout"]
    assert 'value="1.5"' in response.content.decode()


def test_datasets_component_fields_and_method_groups(alice_client, document):
    html = alice_client.get(url(document, "local-data")).content.decode()
    for name in (
        "provider",
        "path",
        "loader",
        "data_files",
        "data_dir",
        "fraction",
        "datasets",
        "direction",
        "axis",
        "indices",
        "columns",
        "condition",
        "template",
        "output_column",
        "remove_columns",
    ):
        assert f'name="{name}"' in html, name
    assert 'data-methods="map"' in html and 'data-methods="load"' in html


def test_datasets_list_fields_accept_comma_separated_values(alice_client, document):
    data = form_data(alice_client.get(url(document, "data-processor")))
    data["remove_columns"] = "a, b"
    data["template"] = "{user_input}"
    result = alice_client.post(url(document, "data-processor", preview=True), data).json()
    assert result["ok"], result
    assert "remove_columns:\n    - a\n    - b" in result["yaml"] or "remove_columns: [a, b]" in result["yaml"]


def test_adding_a_component_opens_its_editor(alice_client, document):
    response = alice_client.post(
        reverse("training:component_new", args=[document.pk]), {"id": "classifier", "type": "model-trainer"}
    )
    assert response.status_code == 302 and response["Location"] == url(document, "classifier")
    document.refresh_from_db()
    assert "- id: classifier" in document.yaml_text and "# peak learning rate" in document.yaml_text


def test_strangers_get_404(bob_client, document):
    assert bob_client.get(url(document, "custom-trainer")).status_code == 404
    assert bob_client.post(url(document, "custom-trainer", preview=True), {}).status_code == 404


NESTED = """\
components:
  - id: trainer
    type: model-trainer
    task: sft
    lora:            # nested LoRA block
      rank: 8
    action:
      learning_rate: 5e-5
      num_epochs: 1
workflows:
  - id: train
    jobs:
      - id: train
        component: trainer
        input:
          dataset: ${input.dataset}
"""


def test_a_nested_dialect_file_stays_nested_when_edited(alice_client, workspace, alice):
    from training.actions import create_document

    doc = create_document(workspace, alice, "nested", NESTED)
    data = form_data(alice_client.get(url(doc, "trainer")))
    assert data["lora_r"] == "8" and data["learning_rate"] == "5e-5"
    data["learning_rate"] = "0.001"
    data["lora_r"] = "16"
    result = alice_client.post(url(doc, "trainer", preview=True), data).json()
    assert result["ok"], result
    assert "    action:\n      learning_rate: 0.001\n" in result["yaml"]
    assert "    lora:            # nested LoRA block\n      rank: 16\n" in result["yaml"]
    assert "lora_r" not in result["yaml"]


def test_a_problem_elsewhere_in_the_file_does_not_block_saving_this_component(alice_client, workspace, alice):
    from training.actions import create_document

    text = NESTED.replace("        component: trainer\n", "        component: trainer\n        depends_on: [nowhere]\n")
    doc = create_document(workspace, alice, "half-broken", text)
    data = form_data(alice_client.get(url(doc, "trainer")))
    data["num_epochs"] = "2"
    result = alice_client.post(url(doc, "trainer", preview=True), data).json()
    assert result["ok"] is True and any("nowhere" in p["message"] for p in result["problems"])
    assert alice_client.post(url(doc, "trainer"), data).status_code == 302
    doc.refresh_from_db()
    assert "num_epochs: 2" in doc.yaml_text


NESTED_MODEL = """\
components:
  - id: writer
    type: model
    task: text-generation
    model: ./models/tiny
    action:
      prompt: Say hi   # what the model is asked
      params:
        max_output_length: 16
workflows:
  - id: try
    jobs:
      - id: answer
        component: writer
"""


def test_a_model_component_is_edited_in_its_own_form_and_stays_nested(alice_client, workspace, alice):
    from training.actions import create_document

    doc = create_document(workspace, alice, "try-it", NESTED_MODEL)
    page = alice_client.get(url(doc, "writer"))
    html = page.content.decode()
    assert page.status_code == 200
    for title in ("Model", "Input", "Generation"):
        assert f"<legend>{title}</legend>" in html
    assert "in tokens" in html  # max_output_length's unit, from the schema
    data = form_data(page)
    assert data["prompt"] == "Say hi" and data["max_output_length"] == "16"
    data["max_output_length"] = "32"
    data["temperature"] = "0.7"
    result = alice_client.post(url(doc, "writer", preview=True), data).json()
    assert "      prompt: Say hi   # what the model is asked\n" in result["yaml"]
    assert "        max_output_length: 32\n" in result["yaml"]
    assert "        temperature: 0.7\n" in result["yaml"]
    # temperature without do_sample has no effect: said, and the save still goes through
    assert any("temperature has no effect without do_sample" in p["message"] for p in result["problems"])
    data["top_p"] = "2"
    refused = alice_client.post(url(doc, "writer", preview=True), data).json()
    assert refused["ok"] is False and refused["field_errors"]["top_p"]


def test_adding_a_model_component_starts_with_its_first_task(alice_client, document):
    response = alice_client.post(reverse("training:component_new", args=[document.pk]), {"id": "m", "type": "model"})
    assert response.status_code == 302 and response["Location"] == url(document, "m")
    document.refresh_from_db()
    assert "type: model\n    task: text-generation" in document.yaml_text
