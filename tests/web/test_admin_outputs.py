"""The run admin's "delete outputs" action: it asks first, then removes the files only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.factories import make_run
from training.models import Artifact, Run, RunStatus

pytestmark = pytest.mark.django_db


def test_the_admin_asks_then_deletes_the_outputs_of_finished_runs(client, staff, workspace, alice):
    done = make_run(workspace, alice, status=RunStatus.FAILED)
    running = make_run(workspace, alice, status=RunStatus.RUNNING)
    for run in (done, running):
        (run.folder / "output").mkdir(parents=True)
        (run.folder / "output" / "adapter_model.safetensors").write_bytes(b"\0" * 2048)
        Artifact.objects.create(run=run, job_id="train", kind="adapter", path=str(run.folder / "output"))
    url = reverse("admin:training_run_changelist")
    chosen = {"action": "delete_run_outputs", "_selected_action": [done.pk, running.pk]}

    confirm = client.post(url, chosen)
    assert confirm.status_code == 200 and "Yes, delete the files" in confirm.content.decode()
    assert str(done.folder.resolve()) in confirm.content.decode()
    assert done.folder.is_dir()  # nothing removed yet

    client.post(url, {**chosen, "post": "yes"})
    assert not done.folder.exists() and running.folder.is_dir()  # a running run is skipped
    assert Artifact.objects.get(run=done).deleted is not None
    assert Artifact.objects.get(run=running).deleted is None
    assert Run.objects.filter(pk=done.pk).exists()
    page = client.get(reverse("admin:training_run_change", args=[done.pk])).content.decode()
    assert 'name="_save"' not in page  # still read-only
