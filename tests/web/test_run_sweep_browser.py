"""A sweep in a real browser: several values typed under two inputs, the form counts the
runs as they are typed, and sending it opens the compare page of the four runs queued."""

from __future__ import annotations

import pytest

from tests.e2e.stack import CHROMIUM, CHROMIUM_ARGS, manage, running_stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = '''
from django.contrib.auth.models import User
from training.actions import create_document
from training.models import Membership, Workspace
user = User.objects.create_user("alice", "alice@example.org", "alice-password")
ws = Workspace.objects.create(name="Lab", slug="lab", queue_paused=True)
Membership.objects.create(user=user, workspace=ws, role=Membership.Role.OWNER)
doc = create_document(ws, user, "sweepable", """\\
components:
  - id: trainer
    type: model-trainer
    task: sft
    model: ./models/tiny
    peft_adapter: lora
    dataset: ${input.data as json | []}
    learning_rate: ${input.learning_rate | 5e-5}
    lora_r: ${input.lora_r | 8}
workflows:
  - id: train
    jobs:
      - id: train
        component: trainer
""")
print(doc.pk)
'''
INPUTS = """
from training.models import Run
print(sorted((r.inputs["learning_rate"], r.inputs["lora_r"]) for r in Run.objects.all()))
"""


def test_the_form_counts_a_sweep_and_opens_the_comparison_of_its_runs(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's chromium: bash scripts/setup.sh --browser")
    with running_stack(tmp_path) as (url, env):
        document = manage(env, "shell", "-c", SETUP).split()[-1]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.set_default_timeout(20_000)
            try:
                page.goto(url + "/accounts/login/")
                page.fill("#id_username", "alice")
                page.fill("#id_password", "alice-password")
                page.click("button[type=submit]")
                page.goto(url + f"/documents/{document}/workflows/train/run/")
                button = page.locator("button[data-run-button]")
                expect(button).to_have_text("Run")
                page.locator("[data-input-row=learning_rate] summary").click()
                page.fill("input[data-sweep=learning_rate]", "1e-4, 5e-5")
                expect(page.locator("#sweep-count")).to_have_text("this sweep makes 2 runs")
                page.locator("[data-input-row=lora_r] summary").click()
                page.fill("input[data-sweep=lora_r]", "8, 16")
                expect(button).to_have_text("Queue 4 runs")
                page.fill("input[data-sweep=lora_r]", ",".join(str(n) for n in range(1, 18)))
                expect(page.locator("#sweep-count")).to_have_text("this sweep makes 34 runs; the most is 32")
                page.fill("input[data-sweep=lora_r]", "8, 16")
                button.click()
                page.wait_for_url("**/w/lab/compare/?runs=*")
                expect(page.locator("body")).to_contain_text("queued 4 runs")
            finally:
                browser.close()
        assert manage(env, "shell", "-c", INPUTS).strip().splitlines()[-1] == (
            "[(5e-05, 8), (5e-05, 16), (0.0001, 8), (0.0001, 16)]"
        )
