"""Creating and importing documents: pasted or uploaded, errors at line and column."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.web.views.conftest import line_of, seed_example
from training.models import ComposeDocument

pytestmark = pytest.mark.django_db


def url(workspace):
    return reverse("training:document_new", args=[workspace.slug])


def test_the_new_document_page_starts_from_a_valid_example(alice_client, workspace):
    from compose.loader import parse

    response = alice_client.get(url(workspace))
    assert response.status_code == 200
    assert parse(response.context["form"].initial["yaml_text"]).ok


def test_import_with_errors_keeps_the_text_and_shows_line_and_column(alice_client, workspace):
    broken = seed_example().replace("learning_rate: 5e-5", "learning_rat: 5e-5")
    response = alice_client.post(url(workspace), {"name": "broken", "yaml_text": broken})
    html = response.content.decode()
    assert response.status_code == 400
    problem = next(p for p in response.context["problems"] if "learning_rat" in p.message)
    line = line_of(broken, "learning_rat:")
    assert (problem.line, problem.column) == (line, 5)
    assert f"line {line}, column 5" in html and "learning_rate" in problem.message
    assert "learning_rat: 5e-5" in html  # the text is still in the box
    assert not ComposeDocument.objects.filter(name="broken").exists()


def test_an_uploaded_file_with_a_syntax_error_lands_in_the_text_box(alice_client, workspace):
    upload = SimpleUploadedFile("bad.yaml", b"components:\n  - id: x\n    type: [datasets\n")
    response = alice_client.post(url(workspace), {"name": "bad", "yaml_text": "", "upload": upload})
    assert response.status_code == 400
    assert response.context["form"]["yaml_text"].value().startswith("components:")
    assert any(p.line for p in response.context["problems"])


def test_a_valid_import_creates_the_document_and_keeps_comments(alice_client, workspace):
    upload = SimpleUploadedFile("custom.yaml", seed_example().encode())
    response = alice_client.post(url(workspace), {"name": "custom", "upload": upload})
    document = ComposeDocument.objects.get(workspace=workspace, name="custom")
    assert response.status_code == 302 and response["Location"] == reverse("training:document", args=[document.pk])
    exported = alice_client.get(reverse("training:document_export", args=[document.pk, "seed"]))
    assert exported.content.decode() == seed_example()


def test_names_are_unique_in_a_workspace(alice_client, workspace, document):
    response = alice_client.post(url(workspace), {"name": document.name, "yaml_text": seed_example()})
    assert response.status_code == 200 and "exists in the workspace" in response.content.decode()


def test_a_non_member_cannot_import(bob_client, workspace):
    assert bob_client.post(url(workspace), {"name": "x", "yaml_text": seed_example()}).status_code == 404


def test_an_upload_under_a_name_already_taken_keeps_the_uploaded_text(alice_client, workspace, document):
    upload = SimpleUploadedFile("custom.yaml", seed_example().encode())
    response = alice_client.post(url(workspace), {"name": document.name, "yaml_text": "", "upload": upload})
    assert response.status_code == 200 and "exists in the workspace" in response.content.decode()
    assert response.context["form"]["yaml_text"].value() == seed_example()
