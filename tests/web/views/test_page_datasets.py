"""Materialized data sets: listed for the members of the workspaces whose runs made them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from compose import events as ev
from tests.web.factories import make_run
from training.actions import claim_run, record_event

pytestmark = pytest.mark.django_db

FINGERPRINT = "cd" * 16
REF = {
    "type": "dataset",
    "fingerprint": FINGERPRINT,
    "path": f"datasets/{FINGERPRINT}",
    "num_rows": 1,
    "columns": {"text": "string"},
    "preview": [{"text": "a first row"}],
    "sft_format": "text",
    "reused": False,
}


@pytest.fixture
def produced(workspace, alice):
    run = make_run(workspace, alice)
    claim_run(run.pk, "w")
    record_event(run, ev.output("load", REF))
    return run


def test_members_see_the_list_and_the_preview(alice_client, produced):
    listing = alice_client.get(reverse("datasets_app:list")).content.decode()
    assert reverse("datasets_app:detail", args=[FINGERPRINT]) in listing
    detail = alice_client.get(reverse("datasets_app:detail", args=[FINGERPRINT]))
    assert detail.status_code == 200 and "a first row" in detail.content.decode()


def test_others_see_nothing(bob_client, produced):
    assert FINGERPRINT not in bob_client.get(reverse("datasets_app:list")).content.decode()
    assert bob_client.get(reverse("datasets_app:detail", args=[FINGERPRINT])).status_code == 404


def test_the_empty_list_says_where_data_sets_come_from(alice_client, workspace):
    assert "No data sets yet" in alice_client.get(reverse("datasets_app:list")).content.decode()


def test_the_detail_page_counts_rows_and_columns_in_words(alice_client, produced):
    html = alice_client.get(reverse("datasets_app:detail", args=[FINGERPRINT])).content.decode()
    assert "1 row · 1 column ·" in html
