"""Workspace list and workspace home."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.factories import make_run

pytestmark = pytest.mark.django_db


def test_pages_need_a_login(client, workspace):
    response = client.get(reverse("training:workspace", args=[workspace.slug]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_single_workspace_opens_directly(alice_client, workspace):
    response = alice_client.get(reverse("training:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("training:workspace", args=[workspace.slug])


def test_home_lists_documents_with_their_last_run_and_latest_runs(alice_client, alice, workspace, document):
    make_run(workspace, alice, document=document, workflow_id="train-custom", status="failed")
    response = alice_client.get(reverse("training:workspace", args=[workspace.slug]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "custom" in html and "train-custom" in html
    assert 'data-status="failed"' in html
    assert reverse("training:document_new", args=[workspace.slug]) in html


def test_empty_workspace_says_what_to_do_next(alice_client, workspace):
    html = alice_client.get(reverse("training:workspace", args=[workspace.slug])).content.decode()
    assert "No documents yet" in html and "No runs yet" in html


def test_a_non_member_gets_404(bob_client, workspace):
    assert bob_client.get(reverse("training:workspace", args=[workspace.slug])).status_code == 404
    response = bob_client.get(reverse("training:home"))
    assert response.status_code == 200 and "not a member of any workspace" in response.content.decode()


def test_the_headline_is_accuracy_else_the_last_eval_loss_else_the_last_loss(alice_client, alice, workspace):
    from compose import events as ev
    from training.actions import claim_run, record_event

    trained, evaluated, classified = (make_run(workspace, alice) for _ in range(3))
    for run in (trained, evaluated, classified):
        claim_run(run.pk, "w")
        record_event(run, ev.metric("train", 1, {"loss": 2.5}))
        record_event(run, ev.metric("train", 2, {"loss": 0.000125}))
    record_event(evaluated, ev.metric("train", 2, {"eval_loss": 1.75}, split="eval"))
    record_event(classified, ev.metric("train", 2, {"eval_loss": 0.4, "accuracy": 0.875, "f1": 0.86}, split="eval"))
    runs = {
        r.pk: r.headline for r in alice_client.get(reverse("training:workspace", args=[workspace.slug])).context["runs"]
    }
    assert runs == {
        trained.pk: ("loss", 0.000125),
        evaluated.pk: ("eval_loss", 1.75),
        classified.pk: ("accuracy", 0.875),
    }
