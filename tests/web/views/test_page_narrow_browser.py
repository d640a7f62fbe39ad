"""The component editor and the run page fit a phone's width: nothing runs off the screen,
long YAML lines scroll inside their frame."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.urls import reverse

from compose import events as ev
from tests.e2e.stack import CHROMIUM, CHROMIUM_ARGS
from tests.web.factories import make_run
from training.actions import claim_run, create_document, record_event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTH = 390

LONG_LINES = (
    "components: [{id: gen, type: model, task: text-generation, model: ./models/a-rather-long-model-folder-name,"
    " prompt: 'Write a long answer about a subject that needs a long line to describe it in the YAML'}]\n"
    "workflows: [{id: try, jobs: [{id: say, component: gen}]}]\n"
)


@contextmanager
def narrow_page(live_server, client, user, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not CHROMIUM.exists():
        pytest.fail("needs Debian's chromium (bash scripts/setup.sh --browser)")
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": WIDTH, "height": 800})
            context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
            yield context.new_page()
        finally:
            browser.close()


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_component_editor_with_long_yaml_lines_fits_a_phone(live_server, client, alice, workspace, monkeypatch):
    doc = create_document(workspace, alice, "long", LONG_LINES)
    with narrow_page(live_server, client, alice, monkeypatch) as page:
        page.goto(live_server.url + reverse("training:component_edit", args=[doc.pk, "gen"]))
        page.wait_for_selector("#yaml-preview")
        assert page_width(page) <= WIDTH


def test_the_run_page_with_charts_fits_a_phone(live_server, client, alice, workspace, monkeypatch):
    run = make_run(workspace, alice, workflow_id="train-custom")
    claim_run(run.pk, "worker-1")
    record_event(run, ev.status("train", "running"))
    for step in (1, 2, 3):
        record_event(run, ev.metric("train", step, {"train_loss": 2.0 / step, "learning_rate": 1e-4}))
    with narrow_page(live_server, client, alice, monkeypatch) as page:
        page.goto(live_server.url + reverse("training:run", args=[run.pk]))
        page.wait_for_selector(".charts canvas")
        assert page_width(page) <= WIDTH
