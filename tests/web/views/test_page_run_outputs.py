"""The run page's outputs: disk use, download links, and deleting the files with a
confirmation page first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.factories import make_run
from training.models import Artifact, Membership, RunEvent, RunStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(workspace, alice):
    run = make_run(workspace, alice, status=RunStatus.SUCCEEDED)
    ckpt = run.folder / "output" / "checkpoint-20"
    ckpt.mkdir(parents=True)
    (ckpt / "model.safetensors").write_bytes(b"\0" * 3000)
    (run.folder / "output" / "trainer_config.yaml").write_text("x" * 72)
    Artifact.objects.create(run=run, job_id="train", kind="checkpoint", path=str(ckpt), size_bytes=3000)
    RunEvent.objects.create(run=run, seq=1, type="log", payload={"type": "log", "message": "hi"}, ts=run.created)
    return run


def page(client, run) -> str:
    response = client.get(reverse("training:run", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_run_page_shows_disk_use_and_download_links(alice_client, run):
    html = page(alice_client, run)
    assert '<strong id="run-disk-use">3.0\xa0KB</strong> on disk' in html  # 3,072 bytes
    artifact = run.artifacts.get()
    assert f'href="{reverse("training:artifact_download", args=[run.pk, artifact.pk])}" download' in html
    assert f'href="{reverse("training:run_download", args=[run.pk])}"' in html
    assert reverse("training:run_delete_outputs", args=[run.pk]) in html  # alice owns the workspace


def test_a_member_who_is_not_an_owner_sees_no_delete_and_gets_403(client, bob, run):
    """403, not 404: bob may see the run (the page, its downloads); only the deleting is
    refused, and saying so is more useful than pretending the run is not there."""
    Membership.objects.create(user=bob, workspace=run.workspace, role=Membership.Role.MEMBER)
    client.force_login(bob)
    html = page(client, run)
    assert reverse("training:run_delete_outputs", args=[run.pk]) not in html
    assert reverse("training:run_download", args=[run.pk]) in html
    url = reverse("training:run_delete_outputs", args=[run.pk])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert run.folder.is_dir()


def test_delete_asks_first_then_frees_the_folder_and_keeps_the_run(alice_client, run):
    url = reverse("training:run_delete_outputs", args=[run.pk])
    confirm = alice_client.get(url)
    html = confirm.content.decode()
    assert confirm.status_code == 200 and str(run.folder.resolve()) in html
    assert "3.0\xa0KB" in html and 'method="post"' in html
    assert run.folder.is_dir()  # asking removes nothing

    response = alice_client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("training:run", args=[run.pk])
    assert not run.folder.exists()
    assert RunEvent.objects.filter(run=run).count() == 1
    html = page(alice_client, run)
    assert "deleted" in html and 'id="run-outputs-deleted"' in html
    assert reverse("training:artifact_download", args=[run.pk, run.artifacts.get().pk]) not in html
    assert reverse("training:run_delete_outputs", args=[run.pk]) not in html  # nothing left to delete
    assert alice_client.get(reverse("training:run_download", args=[run.pk])).status_code == 404


def test_a_running_run_cannot_have_its_outputs_deleted(alice_client, workspace, alice):
    run = make_run(workspace, alice, status=RunStatus.RUNNING)
    run.folder.mkdir(parents=True)
    assert reverse("training:run_delete_outputs", args=[run.pk]) not in page(alice_client, run)
    response = alice_client.post(reverse("training:run_delete_outputs", args=[run.pk]), follow=True)
    assert "once it has ended" in response.content.decode()
    assert run.folder.is_dir()


def test_delete_is_no_longer_offered_once_only_kept_data_sets_remain(alice_client, run):
    """A data set the run made stays in the workspace's storage (other runs reuse it): once the
    run's own files are gone, Delete outputs… has nothing left to remove and is not shown."""
    stored = run.workspace.storage / "datasets" / ("ab" * 16)
    stored.mkdir(parents=True)
    (stored / "data-00000-of-00001.arrow").write_bytes(b"\0" * 100)
    Artifact.objects.create(run=run, job_id="load", kind="dataset", path=str(stored), size_bytes=100)
    url = reverse("training:run_delete_outputs", args=[run.pk])
    assert alice_client.post(url).status_code == 302
    assert stored.is_dir() and not run.folder.exists()

    html = page(alice_client, run)
    assert 'id="run-outputs-deleted"' in html
    assert url not in html
    again = alice_client.get(url).content.decode()
    assert "There are no files left to remove." in again
    assert 'button class="danger"' not in again and "Delete 0" not in again


def test_the_outputs_part_is_served_alone_for_the_page_to_refresh(alice_client, bob_client, run):
    """The run page's script fetches its artifacts and outputs strip again as a run writes them:
    the same links, disk use and Delete outputs… as the page, and 404 for anyone else."""
    url = reverse("training:run_files", args=[run.pk])
    response = alice_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    artifact = run.artifacts.get()
    assert f'href="{reverse("training:artifact_download", args=[run.pk, artifact.pk])}" download' in html
    assert '<strong id="run-disk-use">3.0\xa0KB</strong> on disk' in html
    assert reverse("training:run_delete_outputs", args=[run.pk]) in html
    assert f'data-url="{url}"' in page(alice_client, run)
    assert bob_client.get(url).status_code == 404
    assert alice_client.post(url).status_code == 405
