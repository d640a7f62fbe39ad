"""The run page's script in a real browser, as a run writes its outputs and ends: the
download links, the run folder's size and download, the error line and the job cards
follow without a reload."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.urls import reverse

from compose import events as ev
from tests.e2e.stack import CHROMIUM, CHROMIUM_ARGS
from tests.web.factories import make_run
from training.actions import claim_run, finish_run, record_event
from training.models import Run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@contextmanager
def run_page(live_server, client, user, run, monkeypatch):
    """A headless page on the run, logged in as ``user``; page errors fail the test."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # meanwhile are plain synchronous calls all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not CHROMIUM.exists():
        pytest.fail("needs Debian's chromium (bash scripts/setup.sh --browser)")
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(live_server.url + reverse("training:run", args=[run.pk]))
            yield page
            assert errors == []
        finally:
            browser.close()


def test_a_checkpoint_written_live_can_be_downloaded_and_the_folder_once_the_run_ends(
    live_server, client, alice, workspace, monkeypatch
):
    run = make_run(workspace, alice, workflow_id="train-custom")
    claim_run(run.pk, "worker-1")
    record_event(run, ev.status("train", "running"))
    with run_page(live_server, client, alice, run, monkeypatch) as page:
        assert "Nothing on disk in the run folder" in page.inner_text("#run-outputs")

        checkpoint = run.folder / "output" / "checkpoint-10"
        checkpoint.mkdir(parents=True)
        (checkpoint / "model.safetensors").write_bytes(b"\0" * 2048)
        record_event(run, ev.artifact("train", "checkpoint", str(checkpoint), size_bytes=2048, step=10))
        artifact = run.artifacts.get()
        link = f"#artifacts tr a[href='{reverse('training:artifact_download', args=[run.pk, artifact.pk])}']"
        page.wait_for_selector(link, timeout=20_000)
        assert page.inner_text("#run-disk-use") == "2.0\xa0KB"
        assert page.locator("#run-outputs a:has-text('Delete outputs')").count() == 0  # still running

        record_event(run, ev.status("train", "succeeded"))
        finish_run(Run.objects.get(pk=run.pk), "succeeded")
        page.wait_for_selector("#run-outputs a:has-text('Delete outputs')", timeout=20_000)
        assert page.locator(f"#run-outputs a[href='{reverse('training:run_download', args=[run.pk])}']").count() == 1
        assert page.locator("#artifacts tr").count() == 1


def test_an_error_that_a_retry_overcame_leaves_the_page_when_the_run_succeeds(
    live_server, client, alice, workspace, monkeypatch
):
    """The second attempt of an interrupted run still carries the first one's error while it
    runs; the page must drop it once the run succeeded, as a reload would."""
    run = make_run(workspace, alice, workflow_id="train-custom")
    claim_run(run.pk, "worker-2")
    Run.objects.filter(pk=run.pk).update(attempt=2, error="worker w1 stopped sending heartbeats (none for over 60 s)")
    with run_page(live_server, client, alice, run, monkeypatch) as page:
        assert "stopped sending heartbeats" in page.inner_text("#run-error")
        finish_run(Run.objects.get(pk=run.pk), "succeeded")
        page.wait_for_function(
            "() => document.querySelector('#run-status [data-status]').dataset.status === 'succeeded'", timeout=20_000
        )
        assert page.inner_text("#run-error") == ""


def test_a_job_that_stopped_without_progress_has_a_still_bar(live_server, client, alice, workspace, monkeypatch):
    run = make_run(workspace, alice, workflow_id="train-custom")
    claim_run(run.pk, "worker-1")
    record_event(run, ev.status("load", "running"))
    with run_page(live_server, client, alice, run, monkeypatch) as page:
        bar = "document.querySelector(\".job[data-job='load'] progress\")"
        page.wait_for_function(f"() => {bar} !== null", timeout=20_000)
        assert page.evaluate(f"() => {bar}.hasAttribute('value')") is False  # at work: it moves
        record_event(run, ev.status("load", "failed", "no such file: ./data/rows.jsonl"))
        page.wait_for_function(f"() => {bar}.hasAttribute('value')", timeout=20_000)
        assert page.evaluate(f"() => {bar}.value") == 0


def test_a_long_checkpoint_path_stays_inside_its_job_card(live_server, client, alice, workspace, monkeypatch):
    run = make_run(workspace, alice, workflow_id="train-custom")
    claim_run(run.pk, "worker-1")
    path = (
        "/srv/compose/var/workspaces/research/runs/12345/output/tiny_sft_long/checkpoint_188"  # no hyphen to break at
    )
    record_event(run, ev.status("train", "cancelled", f"job train cancelled at step 188; checkpoint saved in {path}"))
    with run_page(live_server, client, alice, run, monkeypatch) as page:
        page.set_viewport_size({"width": 1000, "height": 800})
        page.wait_for_function("() => document.querySelector(\".job[data-job='train']\") !== null", timeout=20_000)
        # The message's box keeps the card's width; its text is what would run past it.
        widths = page.evaluate("""() => {
            const card = document.querySelector(".job[data-job='train']");
            const message = card.querySelector(".job-message");
            return [card.getBoundingClientRect().width, message.scrollWidth, message.clientWidth];
        }""")
        card, text, box = widths
        assert card < 400 and text <= box
