"""The API's browsable page (Swagger UI from static/) under the Content-Security-Policy in
a real browser: it renders every operation and nothing it needs is blocked."""

from __future__ import annotations

import pytest

from tests.e2e.stack import CHROMIUM, CHROMIUM_ARGS, running_stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def test_the_api_docs_page_renders_under_the_policy(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("needs Debian's chromium (bash scripts/setup.sh --browser)")
    with running_stack(tmp_path) as (url, env), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.add_init_script(LISTEN)
            page.goto(url + "/api/v1/docs")
            expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=20_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            assert any("/api/v1/runs/{run_id}/events/stream" in p for p in paths)
            assert page.evaluate("window.__csp") == []
        finally:
            browser.close()
