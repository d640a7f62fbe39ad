"""The whole product in a real browser: import the seed's §9.8.3 example, edit a field in the
form, run it on the real stack (daphne + Huey worker + runner processes), watch the loss chart
fill in live, and export the changed YAML."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.e2e.stack import CHROMIUM, CHROMIUM_ARGS, ROOT, manage, running_stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEED = next(
    (
        p
        for p in (
            ROOT.parent / "shared" / "seed" / "09-model-training.ko.md",
            ROOT / "shared" / "seed" / "09-model-training.ko.md",
        )
        if p.exists()
    ),
    None,
)

# Points drawn in the loss chart (0 until the page's scripts made the chart).
POINTS = "() => Number((document.querySelector('[data-chart=loss]') || {dataset: {}}).dataset.points || 0)"
# The loss points the run recorded (one per job, line and step), from the page's own replay endpoint.
RECORDED_POINTS = """async () => {
  const url = document.getElementById('run').dataset.eventsUrl + '?limit=5000&after=0';
  const page = await (await fetch(url, {credentials: 'same-origin'})).json();
  const points = new Set();
  page.events.forEach(({event: e}) => {
    if (e.type === 'metric') ['loss', 'eval_loss'].forEach(k => {
      if (Number.isFinite(e.values[k])) points.add(e.job + ' ' + k + ' ' + e.step);
    });
  });
  return points.size;
}"""

BOOTSTRAP = """
from django.contrib.auth.models import User
from training.models import Membership, Workspace
user = User.objects.create_user("alice", password="alice-password")
ws = Workspace.objects.create(name="Lab", slug="lab")
Membership.objects.create(user=user, workspace=ws, role=Membership.Role.OWNER)
"""


def seed_example(section: str = "9.8.3") -> str:
    """The first ```yaml block after the section's heading in the seed document."""
    text = SEED.read_text(encoding="utf-8")
    start = text.index(f"### {section}")
    match = re.search(r"```yaml\n(.*?)```", text[start:], re.S)
    return match.group(1)


def local_example() -> str:
    """The seed example pointed at the tiny local model, logging every step."""
    text = seed_example()
    trainer = "    type: model-trainer\n    task: sft\n"
    assert trainer in text
    return text.replace(trainer, trainer + "    model: ./models/tiny\n    logging_steps: 1\n", 1)


def write_data(folder: Path, rows: int = 16) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = [{"user_input": f"What is {i} plus {i}?", "assistant_response": f"It is {2 * i}."} for i in range(rows)]
    (folder / "custom_train.json").write_text(json.dumps(data), encoding="utf-8")


def check_prerequisites() -> None:
    """What `bash scripts/setup.sh --browser` provides; missing, the test fails and says so."""
    missing = []
    if not CHROMIUM.exists():
        missing.append("Debian's chromium (apt-get install -y chromium)")
    if SEED is None:
        missing.append("the seed document shared/seed/09-model-training.ko.md beside the clone")
    if not (ROOT / "static" / "vendor" / "uPlot.iife.min.js").exists():
        missing.append("the chart library (npm ci && npm run build)")
    if missing:
        pytest.fail("the browser test needs " + "; ".join(missing) + " - run: bash scripts/setup.sh --browser")


def test_import_edit_run_watch_and_export(tmp_path, tiny_causal_lm_dir):
    from playwright.sync_api import expect, sync_playwright

    check_prerequisites()

    with running_stack(tmp_path) as (url, env):
        manage(env, "shell", "-c", BOOTSTRAP)
        root = tmp_path / "workspaces" / "lab"
        shutil.copytree(tiny_causal_lm_dir, root / "models" / "tiny")
        write_data(root / "data")

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(accept_downloads=True)
            page.set_default_timeout(20_000)
            page_errors: list[str] = []
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            try:
                # log in; a single workspace opens directly
                page.goto(url + "/")
                page.fill("#id_username", "alice")
                page.fill("#id_password", "alice-password")
                page.click("button[type=submit]")
                expect(page.locator("h1")).to_have_text("Lab")

                # import the seed example
                page.click("text=Import YAML")
                page.fill("#id_name", "custom")
                page.fill("#id_yaml_text", local_example())
                expect(page.locator(".yaml-status")).to_have_text(re.compile("valid"))
                page.click("button:has-text('Import')")
                expect(page.locator("h1")).to_have_text("custom")

                # change num_epochs in the trainer's form; the preview follows
                page.click("[data-component='custom-trainer'] >> text=Edit")
                page.fill("input[name=num_epochs]", "3")
                expect(page.locator("#yaml-preview")).to_contain_text("num_epochs: 3")
                page.click("button:has-text('Save')")
                expect(page.locator("h1")).to_have_text("custom")

                # run it with the template input
                page.click("#tab-workflows")
                page.click("[data-workflow='train-custom'] >> text=Run…")
                page.fill("textarea[name=template]", "{user_input}")
                page.click("button:has-text('Run')")
                expect(page.locator("#run")).to_be_visible()

                # the loss chart fills in live, then the run succeeds
                loss = page.locator("[data-chart=loss]")
                page.wait_for_function(POINTS + " > 0", timeout=90_000)
                first = int(loss.get_attribute("data-points"))
                expect(page.locator("#run-status [data-status]")).to_have_attribute(
                    "data-status", "succeeded", timeout=90_000
                )
                # The run's last events may reach the page just after its final status.
                recorded = page.evaluate(RECORDED_POINTS)
                page.wait_for_function(f"{POINTS} === {recorded}")
                final = int(loss.get_attribute("data-points"))
                assert final >= first > 0 and final >= 6  # 16 rows, batch 8, 3 epochs, a point per step
                expect(loss.locator(".uplot")).to_be_visible()
                expect(page.locator("[data-job='train'] [data-status]")).to_have_attribute("data-status", "succeeded")
                # what the trainer job started with: the form's change, the bound template resolved
                expect(page.locator("#job-configs [data-job-config='train'] pre")).to_contain_text("num_epochs: 3")
                # the start time, whether the page saw the run start or not: relative, exact on hover
                expect(page.locator("#run-started time[data-relative]")).to_have_attribute("title", re.compile(r"\d"))
                expect(page.locator("#datasets")).to_contain_text("What is 0 plus 0?")
                expect(page.locator("#artifacts-table")).to_be_visible()
                expect(page.locator("#artifacts-empty")).to_be_hidden()

                # everything replays after a reload
                page.reload()
                page.wait_for_function(f"{POINTS} === {final}")
                expect(page.locator("#log")).to_contain_text("Run succeeded")

                # the export carries the change
                page.goto(url + "/")
                page.get_by_role("link", name="custom", exact=True).first.click()
                with page.expect_download() as download:
                    page.click("text=Export (seed)")
                exported = Path(download.value.path()).read_text(encoding="utf-8")
                assert "num_epochs: 3" in exported and "prompt_column: user_input" in exported
                assert page_errors == []
            finally:
                browser.close()
