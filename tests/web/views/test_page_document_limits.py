"""Saving and creating a document from hostile text: the page answers 400 with the located
problem, keeps the text in the box and stores nothing; never a 500 or a hung worker."""

from __future__ import annotations

import pytest
from django.urls import reverse

from compose.yamlio.limits import MAX_BYTES
from tests.compose.yaml_attacks import BOMBS, CRASHES
from tests.web.factories import TINY_DOCUMENT
from training.models import ComposeDocument

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(workspace, alice):
    from training.actions import create_document

    return create_document(workspace, alice, "rows", TINY_DOCUMENT)


def save(client, document, text):
    return client.post(reverse("training:document_save_yaml", args=[document.pk]), {"yaml_text": text})


def create(client, workspace, name, text):
    return client.post(reverse("training:document_new", args=[workspace.slug]), {"name": name, "yaml_text": text})


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sorted(BOMBS))
def test_saving_an_alias_bomb_is_refused_at_its_line(alice_client, document, name):
    response = save(alice_client, document, BOMBS[name])
    assert response.status_code == 400
    [problem] = response.context["problems"]
    assert problem.line is not None and "counting each alias as a copy" in problem.message
    assert f"line {problem.line}, column {problem.column}" in response.content.decode()
    document.refresh_from_db()
    assert document.yaml_text == TINY_DOCUMENT


@pytest.mark.timeout(30)
def test_creating_from_an_alias_bomb_stores_nothing(alice_client, workspace):
    response = create(alice_client, workspace, "bomb", BOMBS["billion laughs"])
    assert response.status_code == 400
    assert [p.line for p in response.context["problems"]] == [6]
    assert not ComposeDocument.objects.filter(name="bomb").exists()


def test_saving_text_over_the_size_limit_is_refused_unread(alice_client, document):
    response = save(alice_client, document, TINY_DOCUMENT + "#" * MAX_BYTES)
    assert response.status_code == 400
    assert [(p.line, p.column) for p in response.context["problems"]] == [(1, 1)]
    assert "so it was not read" in response.context["problems"][0].message
    document.refresh_from_db()
    assert document.yaml_text == TINY_DOCUMENT


@pytest.mark.parametrize("name", sorted(CRASHES))
def test_what_gave_a_500_on_save_is_a_located_problem(alice_client, document, name):
    text, line, column = CRASHES[name]
    response = save(alice_client, document, text)
    assert response.status_code == 400
    assert [(p.line, p.column) for p in response.context["problems"]][:1] == [(line, column)]


@pytest.mark.parametrize("name", sorted(CRASHES))
def test_what_gave_a_500_on_create_is_a_located_problem(alice_client, workspace, name):
    text, line, column = CRASHES[name]
    response = create(alice_client, workspace, "broken", text)
    if not text.strip():
        assert response.status_code == 200 and response.context["form"].errors  # "paste the YAML"
        return
    assert response.status_code == 400
    assert [(p.line, p.column) for p in response.context["problems"]][:1] == [(line, column)]
