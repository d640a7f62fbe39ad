"""The pages under their Content-Security-Policy in a real browser: nothing is blocked, and
the run page still gets its live events over the websocket."""

from __future__ import annotations

import pytest

from tests.e2e.stack import CHROMIUM, CHROMIUM_ARGS, manage, running_stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = """
from django.contrib.auth.models import User
from compose import events as ev
from tests.web.factories import TINY_DOCUMENT, make_run
from training.actions import claim_run, create_document, record_event
from training.management.commands import _tiny
from training.models import Membership, Workspace
user = User.objects.create_superuser("alice", "alice@example.org", "alice-password")
ws = Workspace.objects.create(name="Lab", slug="lab")
Membership.objects.create(user=user, workspace=ws, role=Membership.Role.OWNER)
tiny = create_document(ws, user, "tiny-sft", _tiny.DOCUMENT)
rows = create_document(ws, user, "rows", TINY_DOCUMENT)
run = make_run(ws, user, document=rows)
claim_run(run.pk, "w")
for step in range(1, 4):
    record_event(run, ev.metric("load", step, {"loss": 2.0 / step}))
print(tiny.pk, run.pk)
"""
LATE_EVENT = """
from compose import events as ev
from training.actions import record_event
from training.models import Run
record_event(Run.objects.get(pk={run}), ev.log("load", "arrived under the policy"))
"""
# Violations the page reports to itself; Playwright's init script is not subject to the policy.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


def test_no_page_breaks_its_policy_and_live_events_still_arrive(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's chromium: bash scripts/setup.sh --browser")
    with running_stack(tmp_path) as (url, env):
        document, run = manage(env, "shell", "-c", SETUP).split()[-2:]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.add_init_script(LISTEN)
            console: list[str] = []
            page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
            violations: dict[str, list[str]] = {}

            def visit(path: str) -> None:
                page.goto(url + path)
                page.wait_for_load_state("networkidle")
                found = page.evaluate("window.__csp")
                if found:
                    violations[path] = found

            try:
                page.goto(url + "/accounts/login/")
                page.fill("#id_username", "alice")
                page.fill("#id_password", "alice-password")
                page.click("button[type=submit]")
                expect(page.locator("h1")).to_have_text("Lab")
                for path in (
                    "/",
                    "/w/lab/",
                    f"/documents/{document}/",
                    f"/documents/{document}/components/tiny-trainer/",
                    f"/documents/{document}/workflows/tiny-sft/",
                    f"/documents/{document}/workflows/tiny-sft/run/",
                    "/datasets/",
                    "/admin/",
                    "/admin/training/run/",
                    f"/admin/training/run/{run}/change/",
                    "/admin/auth/user/add/",
                ):
                    visit(path)
                # a form field edit asks the server for a preview (fetch)
                visit(f"/documents/{document}/components/tiny-trainer/")
                page.fill("input[name=num_epochs]", "3")
                expect(page.locator("#yaml-preview")).to_contain_text("num_epochs: 3")

                visit(f"/runs/{run}/")
                page.wait_for_function("Number(document.querySelector('[data-chart=loss]').dataset.points) === 3")
                manage(env, "shell", "-c", LATE_EVENT.format(run=run))
                expect(page.locator("#log")).to_contain_text("arrived under the policy", timeout=15_000)
                violations.update({"(late)": page.evaluate("window.__csp")} if page.evaluate("window.__csp") else {})
            finally:
                browser.close()
    assert violations == {} and console == []
