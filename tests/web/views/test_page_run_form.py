"""The run form: one typed input per workflow input; problems come back beside the input."""

from __future__ import annotations

import pytest
from django.urls import reverse

from training.actions import create_document
from training.models import Run

pytestmark = pytest.mark.django_db

TYPED_INPUTS = """\
components:
  - id: rows
    type: datasets
    provider: local
    loader: json
    data_files: ./data/rows.json
    fraction: ${input.fraction as slider/0.1,1,0.1 | 0.5}
    shuffle: ${input.shuffle as boolean | false}
    split: ${input.split as select/train,test | train}
    seed: ${input.seed as integer | 7}
  - id: ops
    type: datasets
    method: map
    dataset: ${input.dataset}
    template: ${input.template}
    output_column: ${input.column as text | text}
  - id: pick
    type: datasets
    method: select
    dataset: ${input.dataset}
    indices: ${input.indices as json}
workflows:
  - id: prep
    jobs:
      - id: load
        component: rows
      - id: map
        component: ops
        input:
          dataset: ${jobs.load.output}
        depends_on: [load]
      - id: pick
        component: pick
        input:
          dataset: ${jobs.map.output}
        depends_on: [map]
"""


@pytest.fixture
def typed(workspace, alice):
    return create_document(workspace, alice, "typed", TYPED_INPUTS)


def url(document, workflow_id):
    return reverse("training:run_new", args=[document.pk, workflow_id])


def test_each_input_gets_a_widget_for_its_type_with_its_default(alice_client, typed):
    response = alice_client.get(url(typed, "prep"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<input type="range" name="fraction" value="0.5"' in html and 'max="1.0"' in html or 'max="1"' in html
    # a slider shows its value beside it
    assert '<output for="id_fraction" class="mono" data-slider-value>0.5</output>' in html
    assert '<input type="checkbox" name="shuffle"' in html
    assert '<select name="split"' in html and '<option value="test">' in html
    assert '<textarea name="template"' in html
    assert '<input type="number" name="seed" value="7"' in html and 'step="1"' in html


def test_missing_required_input_is_reported_beside_it(alice_client, typed):
    response = alice_client.post(url(typed, "prep"), {"fraction": "0.5", "split": "train", "seed": "7"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "template" in errors and "required" in errors["template"][0]
    assert not Run.objects.exists()


def test_a_trainer_without_a_base_model_is_refused_with_the_reason(alice_client, document):
    response = alice_client.post(url(document, "train-custom"), {"template": "{user_input}"})
    assert response.status_code == 400
    assert "components[2].model" in response.content.decode() and not Run.objects.exists()


def test_a_valid_submission_queues_the_run_and_opens_its_page(alice_client, alice, workspace, document):
    workspace.default_sft_model = "./models/tiny"
    workspace.save()
    response = alice_client.post(url(document, "train-custom"), {"template": "{user_input} -> {assistant_response}"})
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("training:run", args=[run.pk])
    assert run.inputs == {"template": "{user_input} -> {assistant_response}"} and run.created_by == alice
    assert run.status == "queued"


def test_strangers_get_404(bob_client, document):
    assert bob_client.get(url(document, "train-custom")).status_code == 404
    assert bob_client.post(url(document, "train-custom"), {"template": "x"}).status_code == 404


def test_each_input_says_which_fields_read_it_by_their_names(alice_client, typed):
    html = alice_client.get(url(typed, "prep")).content.decode()
    assert "Used by rows.fraction" in html and "Used by ops.template" in html
    assert "components[" not in html


WARNED = """\
components:
  - id: trainer
    type: model-trainer
    task: sft
    model: ./models/tiny
    lr_scheduler_type: cosine_with_restarts
    dataset: ${input.data as json | []}
workflows:
  - id: train
    jobs:
      - id: train
        component: trainer
"""


def test_a_field_that_would_have_no_effect_is_said_on_the_run_form(alice_client, alice, workspace):
    document = create_document(workspace, alice, "warned", WARNED)
    html = alice_client.get(url(document, "train")).content.decode()
    assert 'class="warning"' in html and "num_cycles" in html and "line 6" in html


def test_a_value_out_of_the_filled_fields_range_is_refused_beside_its_input(alice_client, workspace, alice):
    from training.actions import create_document

    text = (
        "components:\n"
        "  - {id: t, type: model-trainer, task: sft, model: ./m, max_seq_length: '${input.seq as integer | 128}'}\n"
        "workflows:\n"
        "  - {id: w, jobs: [{id: a, component: t}]}\n"
    )
    doc = create_document(workspace, alice, "ranges", text)
    response = alice_client.post(url(doc, "w"), {"seq": "0"})
    assert response.status_code == 400
    assert "max_seq_length: should be greater than or equal to 1" in response.context["form"].errors["seq"][0]
    assert not Run.objects.exists()
