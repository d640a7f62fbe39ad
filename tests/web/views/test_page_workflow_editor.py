"""The workflow editor: components, methods, inputs and dependencies per job; the graph redraws."""

from __future__ import annotations

import pytest
import yaml
from django.urls import reverse

pytestmark = pytest.mark.django_db


def url(document, preview=False):
    return reverse("training:workflow_edit", args=[document.pk, "train-custom"]) + ("?preview=1" if preview else "")


def form_data(response) -> dict:
    form = response.context["form"]
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, list):
            data[name] = value
        elif value not in (None, False):
            data[name] = "on" if value is True else str(value)
    return data


def test_jobs_are_listed_with_their_bindings_and_dependencies(alice_client, document):
    response = alice_client.get(url(document))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-job="process"' in html and "template: ${input.template}" in html
    assert form_data(response)["job2-depends_on"] == ["process"]
    assert 'data-edge="process->train"' in html


def test_dropping_a_needed_dependency_puts_the_error_beside_the_input(alice_client, document):
    data = form_data(alice_client.get(url(document)))
    data["job2-depends_on"] = []
    result = alice_client.post(url(document, preview=True), data).json()
    assert result["ok"] is False
    messages = " ".join(
        result["field_errors"].get("job2-input", []) + result["field_errors"].get("job2-depends_on", [])
    )
    assert "process" in messages and "depends_on" in messages
    assert 'data-edge="process->train"' not in result["graph"]  # the graph redraws without the arrow


def test_adding_a_job_appends_it_and_saving_keeps_comments(alice_client, document):
    data = form_data(alice_client.get(url(document)))
    data.update(
        {
            "new-id": "select",
            "new-component": "data-processor",
            "new-method": "select",
            "new-input": "dataset: ${jobs.process.output}\naxis: rows\nindices: [0, 1]",
            "new-depends_on": ["process"],
        }
    )
    result = alice_client.post(url(document, preview=True), data).json()
    assert result["ok"], result
    jobs = yaml.safe_load(result["yaml"])["workflows"][0]["jobs"]
    assert jobs[-1] == {
        "id": "select",
        "component": "data-processor",
        "method": "select",
        "input": {"dataset": "${jobs.process.output}", "axis": "rows", "indices": [0, 1]},
        "depends_on": ["process"],
    }
    assert 'data-edge="process->select"' in result["graph"]
    assert alice_client.post(url(document), data).status_code == 302
    document.refresh_from_db()
    assert "- id: select" in document.yaml_text and "# peak learning rate" in document.yaml_text


def test_bad_input_yaml_is_reported_on_its_field(alice_client, document):
    data = form_data(alice_client.get(url(document)))
    data["job1-input"] = "dataset: [unclosed"
    response = alice_client.post(url(document), data)
    assert response.status_code == 400
    assert "Not valid YAML" in response.context["field_errors"]["job1-input"][0]


def test_strangers_get_404(bob_client, document):
    assert bob_client.get(url(document)).status_code == 404


NESTED = """\
components:
  - id: data
    type: datasets
    driver: huggingface
    actions:
      - id: load-a
        method: load
        path: json
        data_files: ./a.json
      - id: keep-long
        method: filter
        dataset: ${input.dataset}
        condition: len(text) > 3
workflows:
  - id: prep
    jobs:
      - id: load
        component: data
        action: load-a
"""


@pytest.fixture
def nested_document(workspace, alice):
    from training.actions import create_document

    return create_document(workspace, alice, "nested", NESTED)


def test_a_new_job_can_pick_one_of_a_components_actions(alice_client, nested_document):
    from compose.loader import parse

    edit = reverse("training:workflow_edit", args=[nested_document.pk, "prep"])
    html = alice_client.get(edit).content.decode()
    assert '<optgroup label="actions of data">' in html  # which component each action belongs to
    data = form_data(alice_client.get(edit))
    data.update(
        {
            "new-id": "filt",
            "new-component": "data",
            "new-method": "keep-long",
            "new-input": "dataset: ${jobs.load.output}",
            "new-depends_on": ["load"],
        }
    )
    result = alice_client.post(edit + "?preview=1", data).json()
    assert result["ok"], result
    assert alice_client.post(edit, data).status_code == 302
    nested_document.refresh_from_db()
    job = parse(nested_document.yaml_text).file.workflows[0].jobs[-1]
    assert (job.id, job.method, job.depends_on) == ("filt", "keep-long", ["load"])
    assert "        action: keep-long\n" in nested_document.yaml_text  # the nested dialect's key


def test_a_component_with_several_actions_is_edited_as_yaml(alice_client, nested_document):
    page = alice_client.get(reverse("training:document", args=[nested_document.pk])).content.decode()
    card = page[page.index('data-component="data"') :]
    card = card[: card.index("</div>\n    </div>") if "</div>\n    </div>" in card else 2000]
    assert "load-a" in card and "keep-long" in card and "edited in the YAML tab" in card
    assert reverse("training:component_edit", args=[nested_document.pk, "data"]) not in page
    refused = alice_client.get(reverse("training:component_edit", args=[nested_document.pk, "data"]))
    assert refused.status_code == 404


def test_a_component_with_one_named_action_is_edited_as_yaml_too(alice_client, workspace, alice):
    from training.actions import create_document

    single = NESTED.replace(
        """      - id: keep-long
        method: filter
        dataset: ${input.dataset}
        condition: len(text) > 3
""",
        "",
    )
    document = create_document(workspace, alice, "single", single)
    page = alice_client.get(reverse("training:document", args=[document.pk])).content.decode()
    assert "load-a" in page and "edited in the YAML tab" in page
    assert alice_client.get(reverse("training:component_edit", args=[document.pk, "data"])).status_code == 404
