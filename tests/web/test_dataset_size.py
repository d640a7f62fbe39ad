"""A materialized data set's size is the bytes of its folder on disk, as the pages show it."""

from __future__ import annotations

import os

import pytest
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from datasets_app.models import MaterializedDataset
from tests.web.factories import make_run
from tests.web.test_worker import write_rows
from training.worker import execute_run

pytestmark = pytest.mark.django_db(transaction=True)


def bytes_on_disk(folder) -> int:
    return sum(os.path.getsize(os.path.join(here, name)) for here, _, names in os.walk(folder) for name in names)


@pytest.mark.slow
def test_a_datasets_job_records_the_size_of_its_folder(client, workspace, alice):
    from runner.launch import InProcessExecutor

    write_rows(workspace)
    for _ in range(2):  # the second run reuses the folder and reports the same size
        run = make_run(workspace, alice)
        assert execute_run(run.pk, executor=InProcessExecutor(), worker="w") == "succeeded"
        dataset = MaterializedDataset.objects.get(workspace=workspace)
        size = bytes_on_disk(workspace.storage / dataset.path)
        assert dataset.size_bytes == size > 0
        assert run.artifacts.get(kind="dataset").size_bytes == size

    client.force_login(alice)
    detail = client.get(reverse("datasets_app:detail", args=[dataset.fingerprint])).content.decode()
    assert f'<span id="dataset-size">{filesizeformat(size)}</span> on disk' in detail
