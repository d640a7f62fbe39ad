"""The run page draws each fragment once: a job card, a status badge and a data set card
that arrive live are the server's own markup (cloned from the page's <template> elements or
fetched as a partial), the same as a reload shows."""
from __future__ import annotations

import pytest
from django.urls import reverse

from compose import events as ev
from tests.web.factories import make_run
from tests.web.views.test_run_page_live_outputs import run_page
from training.actions import claim_run, record_event

pytestmark = pytest.mark.django_db(transaction=True)

DATASET_REF = {"type": "dataset", "fingerprint": "cd" * 16, "path": "datasets/" + "cd" * 16, "num_rows": 1,
               "columns": {"question": "string", "meta": "dict"},
               "preview": [{"question": "What is 2 + 2?", "meta": {"source": "x"}}],
               "sft_format": None, "reused": False}
OUTER = "el => el.outerHTML.replace(/\\s+/g, ' ')"


def test_the_data_set_partial_is_the_cards_of_the_run_page(alice_client, workspace, alice):
    run = make_run(workspace, alice, workflow_id="train-custom")
    claim_run(run.pk, "worker-1")
    empty = alice_client.get(reverse("training:run_datasets", args=[run.pk])).content.decode()
    assert 'id="datasets-empty"' in empty and "No data sets yet" in empty
    record_event(run, ev.output("load", DATASET_REF))
    partial = alice_client.get(reverse("training:run_datasets", args=[run.pk])).content.decode()
    page = alice_client.get(reverse("training:run", args=[run.pk])).content.decode()
    assert f'data-dataset="{"cd" * 16}"' in partial and "What is 2 + 2?" in partial
    assert partial.strip() in page


def test_the_data_set_partial_is_for_members_only(client, bob, workspace, alice):
    run = make_run(workspace, alice, workflow_id="train-custom")
    client.force_login(bob)
    assert client.get(reverse("training:run_datasets", args=[run.pk])).status_code == 404


@pytest.mark.browser
def test_fragments_drawn_live_match_a_reload(live_server, client, alice, workspace, monkeypatch):
    run = make_run(workspace, alice, workflow_id="train-custom")
    claim_run(run.pk, "worker-1")
    with run_page(live_server, client, alice, run, monkeypatch) as page:
        record_event(run, ev.status("load", "running"))
        record_event(run, ev.output("load", DATASET_REF))
        record_event(run, ev.status("load", "succeeded"))
        record_event(run, ev.status("train", "running"))
        page.wait_for_selector(f"#datasets [data-dataset='{'cd' * 16}'] table.preview", timeout=20_000)
        page.wait_for_function("() => document.querySelector(\".job[data-job='load']\").dataset.status"
                               " === 'succeeded'", timeout=20_000)
        live_dataset = page.eval_on_selector("#datasets .card", OUTER)
        live_badge = page.eval_on_selector(".job[data-job='load'] .job-status", OUTER)
        live_train_badge = page.eval_on_selector(".job[data-job='train'] .job-status", OUTER)
        page.reload()
        page.wait_for_selector("#datasets .card")
        assert page.eval_on_selector("#datasets .card", OUTER) == live_dataset
        assert page.eval_on_selector(".job[data-job='load'] .job-status", OUTER) == live_badge
        assert page.eval_on_selector(".job[data-job='train'] .job-status", OUTER) == live_train_badge
        assert 'class="badge badge-ok" data-status="succeeded"' in live_badge
