"""The run page draws each fragment once: a job card, a status badge, a job's resolved config,
an artifact row and a data set card that arrive live are the server's own markup (cloned from
the page's <template> elements or fetched as a part), the same as a reload shows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from compose import events as ev
from tests.web.factories import make_run
from tests.web.views.test_run_page_live_outputs import run_page
from training.actions import claim_run, record_event

pytestmark = pytest.mark.django_db(transaction=True)

DATASET_REF = {
    "type": "dataset",
    "fingerprint": "cd" * 16,
    "path": "datasets/" + "cd" * 16,
    "num_rows": 1,
    "columns": {"question": "string", "meta": "dict"},
    "preview": [{"question": "What is 2 + 2?", "meta": {"source": "x"}}],
    "sft_format": None,
    "reused": False,
}
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


def test_the_config_partial_is_the_configs_of_the_run_page(alice_client, workspace, alice):
    run = make_run(workspace, alice, workflow_id="train-custom")
    claim_run(run.pk, "worker-1")
    assert (
        "No job has started yet." in alice_client.get(reverse("training:run_configs", args=[run.pk])).content.decode()
    )
    record_event(run, ev.status("train", "running"))
    record_event(run, ev.config("train", {"id": "custom-trainer", "learning_rate": 5e-5}))
    partial = alice_client.get(reverse("training:run_configs", args=[run.pk])).content.decode()
    page = alice_client.get(reverse("training:run", args=[run.pk])).content.decode()
    assert 'data-job-config="train"' in partial and "learning_rate: 5.0e-05" in partial
    assert partial.strip() in page


@pytest.mark.parametrize("part", ["run_datasets", "run_configs"])
def test_the_parts_are_for_members_only(client, bob, workspace, alice, part):
    run = make_run(workspace, alice, workflow_id="train-custom")
    client.force_login(bob)
    assert client.get(reverse(f"training:{part}", args=[run.pk])).status_code == 404


@pytest.mark.browser
def test_fragments_drawn_live_match_a_reload(live_server, client, alice, workspace, monkeypatch):
    run = make_run(workspace, alice, workflow_id="train-custom")
    claim_run(run.pk, "worker-1")
    with run_page(live_server, client, alice, run, monkeypatch) as page:
        record_event(run, ev.status("load", "running"))
        record_event(run, ev.output("load", DATASET_REF))
        record_event(run, ev.status("load", "succeeded"))
        record_event(run, ev.status("train", "running"))
        record_event(run, ev.config("train", {"id": "custom-trainer", "learning_rate": 5e-5}))
        record_event(run, ev.artifact("train", "checkpoint", "/ws/output/checkpoint-10", size_bytes=2048, step=10))
        page.wait_for_selector("#job-configs [data-job-config='train'] pre", state="attached", timeout=20_000)
        page.wait_for_selector("#artifacts tr[data-path='/ws/output/checkpoint-10']", timeout=20_000)
        page.wait_for_selector(f"#datasets [data-dataset='{'cd' * 16}'] table.preview", timeout=20_000)
        page.wait_for_function(
            "() => document.querySelector(\".job[data-job='load']\").dataset.status === 'succeeded'", timeout=20_000
        )
        live_dataset = page.eval_on_selector("#datasets .card", OUTER)
        live_badge = page.eval_on_selector(".job[data-job='load'] .job-status", OUTER)
        live_train_badge = page.eval_on_selector(".job[data-job='train'] .job-status", OUTER)
        live_config = page.eval_on_selector("#job-configs", OUTER)
        live_artifacts = page.eval_on_selector("#artifacts", OUTER)
        page.reload()
        page.wait_for_selector("#datasets .card")
        assert page.eval_on_selector("#datasets .card", OUTER) == live_dataset
        assert page.eval_on_selector(".job[data-job='load'] .job-status", OUTER) == live_badge
        assert page.eval_on_selector(".job[data-job='train'] .job-status", OUTER) == live_train_badge
        assert page.eval_on_selector("#job-configs", OUTER) == live_config
        assert page.eval_on_selector("#artifacts", OUTER) == live_artifacts
        assert 'class="badge badge-ok" data-status="succeeded"' in live_badge
