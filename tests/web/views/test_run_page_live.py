"""The run page's script in a real browser: a job that is cancelled while the page is open
shows where its checkpoint went and drops its ETA; the waiting notes turn final; and
Cancel asks before it stops a run."""

from __future__ import annotations

import pytest
from django.urls import reverse

from compose import events as ev
from tests.e2e.stack import CHROMIUM, CHROMIUM_ARGS
from tests.web.factories import make_run
from training.actions import claim_run, finish_run, record_event
from training.models import Run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CARD = "document.querySelector(\".job[data-job='train']\")"


def test_the_page_follows_a_cancel_to_its_final_state(live_server, client, alice, workspace, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls below are
    # plain synchronous calls all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not CHROMIUM.exists():
        pytest.fail("needs Debian's chromium (bash scripts/setup.sh --browser)")
    run = make_run(workspace, alice, workflow_id="train-custom")
    claim_run(run.pk, "worker-1")
    record_event(run, ev.config("train", {"id": "custom-trainer", "task": "sft"}))
    record_event(run, ev.status("train", "running"))
    record_event(run, ev.progress("train", 8, 60, unit="steps", stage="train", eta_s=45))
    client.force_login(alice)
    cookie = client.cookies["sessionid"]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(live_server.url + reverse("training:run", args=[run.pk]))
            page.wait_for_function(f"() => {CARD}.querySelector('.job-count').textContent.includes('left')")
            assert page.evaluate(f"() => {CARD}.querySelector('.job-count').textContent") == "8 / 60 steps · 45 s left"
            # A card made by the script names its component, as a server-rendered one does.
            assert page.evaluate(f"() => {CARD}.querySelector('.job-component').textContent") == "custom-trainer"

            # Dismissing the question leaves the run alone.
            page.once("dialog", lambda dialog: dialog.dismiss())
            page.click("#cancel-form button")
            page.wait_for_timeout(300)
            run.refresh_from_db()
            assert run.cancel_requested is False and page.url.endswith(f"/runs/{run.pk}/")

            # The job stops (as the worker records it); the page learns it by polling.
            record_event(
                run,
                ev.status(
                    "train", "cancelled", "job train cancelled at step 8; checkpoint saved in /ws/out/checkpoint-8"
                ),
            )
            finish_run(Run.objects.get(pk=run.pk), "cancelled")
            page.wait_for_function(f"() => {CARD}.dataset.status === 'cancelled'", timeout=20_000)
            assert page.evaluate(f"() => {CARD}.querySelector('.job-count').textContent") == "8 / 60 steps"
            assert page.evaluate(f"() => {CARD}.querySelector('.job-message').textContent") == (
                "job train cancelled at step 8; checkpoint saved in /ws/out/checkpoint-8"
            )
            page.wait_for_function(
                "() => document.getElementById('charts-empty').textContent === 'This run reported no metrics.'",
                timeout=20_000,
            )
            assert page.evaluate("() => document.getElementById('cancel-form').hidden")
            assert errors == []
        finally:
            browser.close()


def test_a_page_opened_while_queued_shows_the_whole_plan_once_the_run_starts(
    live_server, client, alice, workspace, monkeypatch
):
    from playwright.sync_api import sync_playwright

    from training.models import JobRun

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not CHROMIUM.exists():
        pytest.fail("needs Debian's chromium (bash scripts/setup.sh --browser)")
    run = make_run(workspace, alice, workflow_id="train-custom")
    client.force_login(alice)
    cookie = client.cookies["sessionid"]
    cards = (
        "() => [...document.querySelectorAll('#jobs .job')].map(c => c.dataset.job + ':' + "
        "c.querySelector('.job-component').textContent)"
    )

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
        page = context.new_page()
        try:
            page.goto(live_server.url + reverse("training:run", args=[run.pk]))
            assert "Waiting for a worker" in page.inner_text("#jobs")

            # A worker takes the run: one pending row per job, in workflow order.
            claim_run(run.pk, "worker-1")
            for position, (job, component) in enumerate(
                [("load", "data"), ("train", "trainer"), ("export", "exporter")]
            ):
                JobRun.objects.create(run=run, job_id=job, component_id=component, position=position)
            record_event(run, ev.status("train", "running"))  # an event for the second job comes first

            page.wait_for_function("() => document.querySelectorAll('#jobs .job').length === 3", timeout=20_000)
            assert page.evaluate(cards) == ["load:data", "train:trainer", "export:exporter"]
        finally:
            browser.close()
