"""Downloads of a run's outputs: a file as itself, a folder as a zip built while it is sent,
the whole run folder; nothing outside the workspace, nothing for strangers."""

from __future__ import annotations

import io
import os
import warnings
import zipfile
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.urls import reverse

from tests.web.factories import make_run
from training.models import Artifact, RunStatus

pytestmark = pytest.mark.django_db

WEIGHTS = os.urandom(3 * 1024 * 1024 + 17)  # a few MB: the archive comes in several chunks


@pytest.fixture
def run(workspace, alice):
    """A finished run whose folder holds a checkpoint (weights, a config, an empty folder,
    a nested file) and a saved config file, each listed as an artifact."""
    run = make_run(workspace, alice, status=RunStatus.SUCCEEDED)
    ckpt = run.folder / "output" / "checkpoint-30"
    (ckpt / "empty").mkdir(parents=True)
    (ckpt / "nested").mkdir()
    (ckpt / "model.safetensors").write_bytes(WEIGHTS)
    (ckpt / "config.json").write_text('{"hidden_size": 8}\n' * 50)
    (ckpt / "nested" / "notes.txt").write_text("step 30\n")
    (run.folder / "output" / "trainer_config.yaml").write_text("learning_rate: 5.0e-05\n")
    Artifact.objects.create(run=run, job_id="train", kind="checkpoint", path=str(ckpt), step=30)
    Artifact.objects.create(
        run=run, job_id="train", kind="config", path=str(run.folder / "output" / "trainer_config.yaml")
    )
    return run


def artifact_url(run, kind: str) -> str:
    artifact = run.artifacts.get(kind=kind)
    return reverse("training:artifact_download", args=[run.pk, artifact.pk])


def on_disk(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (symlinks not followed) by its name relative to it."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def archive_of(response) -> tuple[zipfile.ZipFile, list[bytes]]:
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    chunks = list(response.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None  # every CRC matches
    return archive, chunks


def files_of(archive: zipfile.ZipFile) -> dict[str, bytes]:
    return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}


def test_a_file_artifact_downloads_as_itself(alice_client, run):
    response = alice_client.get(artifact_url(run, "config"))
    body = b"".join(response.streaming_content)
    assert response.status_code == 200 and response.streaming
    assert body == (run.folder / "output" / "trainer_config.yaml").read_bytes()
    assert response["Content-Length"] == str(len(body))
    assert response["Content-Disposition"] == 'attachment; filename="trainer_config.yaml"'


def test_a_folder_artifact_streams_a_zip_that_matches_the_disk(alice_client, run):
    response = alice_client.get(artifact_url(run, "checkpoint"))
    assert response["Content-Disposition"] == f'attachment; filename="run-{run.pk}-checkpoint-30.zip"'
    assert "Content-Length" not in response  # built while it is sent
    archive, chunks = archive_of(response)
    assert len(chunks) > 3  # about one per MB, never the whole archive at once
    folder = run.folder / "output" / "checkpoint-30"
    assert files_of(archive) == on_disk(folder)  # names relative to the folder, same bytes
    assert {"empty/", "nested/"} <= set(archive.namelist())  # the empty folder is kept
    info = {i.filename: i for i in archive.infolist()}
    assert info["model.safetensors"].compress_type == zipfile.ZIP_STORED  # weights: no deflate
    assert info["config.json"].compress_type == zipfile.ZIP_DEFLATED


def test_the_whole_run_folder_downloads_as_one_archive(alice_client, run):
    response = alice_client.get(reverse("training:run_download", args=[run.pk]))
    assert response["Content-Disposition"] == f'attachment; filename="run-{run.pk}.zip"'
    archive, _ = archive_of(response)
    assert files_of(archive) == on_disk(run.folder)
    assert "output/checkpoint-30/model.safetensors" in archive.namelist()
    assert "output/checkpoint-30/empty/" in archive.namelist()


def test_a_run_without_a_folder_has_nothing_to_download(alice_client, workspace, alice):
    run = make_run(workspace, alice)
    assert alice_client.get(reverse("training:run_download", args=[run.pk])).status_code == 404


def test_symlinks_that_lead_out_of_the_workspace_are_left_out(alice_client, run, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.txt").write_text("not yours")
    ckpt = run.folder / "output" / "checkpoint-30"
    (ckpt / "leak.txt").symlink_to(outside / "secret.txt")
    (ckpt / "leakdir").symlink_to(outside, target_is_directory=True)
    (ckpt / "alias.json").symlink_to(ckpt / "config.json")  # stays inside: served as a copy

    for url in (artifact_url(run, "checkpoint"), reverse("training:run_download", args=[run.pk])):
        archive, chunks = archive_of(alice_client.get(url))
        names = archive.namelist()
        assert not any("leak" in name for name in names)
        assert b"not yours" not in b"".join(chunks)
        alias = next(name for name in names if name.endswith("alias.json"))
        assert archive.read(alias) == (ckpt / "config.json").read_bytes()


def test_an_artifact_outside_the_workspace_is_not_served(alice_client, run, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "model.bin").write_bytes(b"\0" * 64)
    link = run.folder / "output" / "model"
    link.symlink_to(outside, target_is_directory=True)
    direct = Artifact.objects.create(run=run, job_id="train", kind="model", path=str(outside / "model.bin"))
    linked = Artifact.objects.create(run=run, job_id="train", kind="model", path=str(link))
    for artifact in (direct, linked):
        url = reverse("training:artifact_download", args=[run.pk, artifact.pk])
        assert alice_client.get(url).status_code == 404


def test_strangers_get_404_on_every_download_and_on_delete(bob_client, run):
    urls = [
        artifact_url(run, "checkpoint"),
        artifact_url(run, "config"),
        reverse("training:run_download", args=[run.pk]),
    ]
    for url in urls:
        assert bob_client.get(url).status_code == 404
    delete = reverse("training:run_delete_outputs", args=[run.pk])
    assert bob_client.get(delete).status_code == 404
    assert bob_client.post(delete).status_code == 404
    assert (run.folder / "output" / "checkpoint-30" / "model.safetensors").is_file()


def test_an_artifact_of_another_run_is_not_reachable_through_this_one(alice_client, run, workspace, alice):
    other = make_run(workspace, alice, status=RunStatus.SUCCEEDED)
    url = reverse("training:artifact_download", args=[other.pk, run.artifacts.first().pk])
    assert alice_client.get(url).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_under_asgi_the_body_is_pulled_chunk_by_chunk(alice, run):
    """Django's ASGI handler reads a plain iterator to its end before sending a byte; the
    downloads hand it an asynchronous one, so a large file is never held in memory."""
    client = AsyncClient()
    client.force_login(alice)

    async def fetch(url: str):
        response = await client.get(url)
        chunks = [chunk async for chunk in response.streaming_content]
        return response, chunks

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response, chunks = async_to_sync(fetch)(artifact_url(run, "checkpoint"))
        file_response, file_chunks = async_to_sync(fetch)(artifact_url(run, "config"))
    assert not [w for w in caught if "consume synchronous iterators" in str(w.message)]
    assert response.is_async and len(chunks) > 3
    assert files_of(zipfile.ZipFile(io.BytesIO(b"".join(chunks)))) == on_disk(run.folder / "output" / "checkpoint-30")
    assert file_response.is_async
    assert b"".join(file_chunks) == (run.folder / "output" / "trainer_config.yaml").read_bytes()
    assert file_response["Content-Length"] == str(len(b"".join(file_chunks)))
