"""The sweep admin: read-only, naming the swept inputs and linking to the sweep's runs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from training.actions import create_document, enqueue_sweep
from training.models import Sweep

pytestmark = pytest.mark.django_db

DOC = """\
components:
  - id: trainer
    type: model-trainer
    task: sft
    model: ./models/tiny
    dataset: ${input.data as json | []}
    learning_rate: ${input.learning_rate | 5e-5}
workflows:
  - id: train
    jobs:
      - id: train
        component: trainer
"""


def test_a_sweep_is_shown_read_only_with_a_link_to_its_runs(client, staff, workspace, alice):
    document = create_document(workspace, alice, "doc", DOC)
    sweep = enqueue_sweep(document, "train", {}, {"learning_rate": "1e-4, 2e-4"}, alice)
    listing = client.get(reverse("admin:training_sweep_changelist")).content.decode()
    assert "learning_rate (2)" in listing
    page = client.get(reverse("admin:training_sweep_change", args=[sweep.pk]))
    assert page.status_code == 200 and 'name="workflow_id"' not in page.content.decode()
    assert f"?sweep__id__exact={sweep.pk}" in page.content.decode()
    runs = client.get(reverse("admin:training_run_changelist"), {"sweep__id__exact": sweep.pk})
    assert runs.status_code == 200 and runs.context["cl"].result_count == 2
    assert client.get(reverse("admin:training_sweep_add")).status_code == 403
    assert Sweep.objects.count() == 1
