"""Every page carries a Content-Security-Policy and has nothing inline it would block.

The policy allows scripts and styles from the site's own files only, so a page must
hold no inline <script>, no <style>, no style="" and no on*="" attribute. The pages
are found by following links from the home page, the data sets and the admin, as a
member with a document, a finished run and a data set, so a new page is checked
without adding it here.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from compose import events as ev
from tests.web.factories import TINY_DOCUMENT, make_run
from training.actions import claim_run, create_document, finish_run, record_event
from training.management.commands import _tiny

pytestmark = pytest.mark.django_db

FINGERPRINT = "ef" * 16
DATASET_REF = {
    "type": "dataset",
    "fingerprint": FINGERPRINT,
    "path": f"datasets/{FINGERPRINT}",
    "num_rows": 1,
    "columns": {"text": "string"},
    "preview": [{"text": "a row"}],
    "sft_format": "text",
    "reused": False,
}
# Pages left out: downloads, JSON, and actions that only answer a POST.
SKIP = ("/accounts/logout/", "/admin/logout/", "/export/", ".json", "/static/")
MAX_PAGES = 400


class InlineCode(HTMLParser):
    """Collects what a strict policy blocks: inline scripts and styles, handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not values.get("src") and values.get("type") != "application/json":
            self.found.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> at line {self.getpos()[0]}")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f'<{tag} {name}="{value}">')
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f'<{tag} {name}="{value}">')
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])


def inspect(response) -> InlineCode:
    parser = InlineCode()
    parser.feed(response.content.decode())
    return parser


def assert_strict_policy(url: str, response) -> None:
    policy = response.get("Content-Security-Policy", "")
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives.get("script-src") == "'self'", (url, policy)
    assert directives.get("style-src") == "'self'", (url, policy)
    assert "unsafe" not in policy, (url, policy)


def crawl(client: Client, starts: list[str]) -> dict[str, list[str]]:
    """Every same-site HTML page reachable from ``starts``: url -> what it holds inline."""
    seen, queue, problems = set(starts), list(starts), {}
    for _ in range(MAX_PAGES):
        if not queue:
            return problems
        url = queue.pop(0)
        response = client.get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        assert_strict_policy(url, response)
        page = inspect(response)
        if page.found:
            problems[url] = page.found
        for href in page.links:
            link = urldefrag(href).url
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.query:
                continue  # another site, or an admin list's sort and filter variants
            if link not in seen and not any(skip in link for skip in SKIP):
                seen.add(link)
                queue.append(link)
    pytest.fail(f"more than {MAX_PAGES} pages: raise MAX_PAGES or skip the repetitive ones")


@pytest.fixture
def site(django_user_model, workspace):
    from training.models import Membership

    root = django_user_model.objects.create_superuser("root", "root@example.org", "root-password-1")
    Membership.objects.create(user=root, workspace=workspace, role=Membership.Role.MEMBER)
    create_document(workspace, root, "tiny-sft", _tiny.DOCUMENT)
    document = create_document(workspace, root, "rows", TINY_DOCUMENT)
    run = make_run(workspace, root, document=document)
    claim_run(run.pk, "w")
    for event in (ev.log("load", "loading"), ev.metric("load", 1, {"loss": 1.5}), ev.output("load", DATASET_REF)):
        record_event(run, event)
    run.refresh_from_db()
    finish_run(run, "succeeded")
    client = Client()
    client.force_login(root)
    return client


def test_every_page_has_a_strict_policy_and_nothing_inline(site):
    problems = crawl(site, [reverse("training:home"), reverse("datasets_app:list"), reverse("admin:index")])
    assert problems == {}


def test_pages_the_links_do_not_reach_are_clean_too(site, client, settings):
    from training.models import ComposeDocument

    document = ComposeDocument.objects.get(name="tiny-sft")
    urls = [
        reverse("training:run_new", args=[document.pk, "tiny-sft"]),
        reverse("training:component_edit", args=[document.pk, "tiny-trainer"]),
        reverse("training:workflow_edit", args=[document.pk, "tiny-sft"]),
    ]
    for url in urls:
        response = site.get(url)
        assert response.status_code == 200, url
        assert_strict_policy(url, response)
        assert inspect(response).found == [], url
    login = client.get(reverse("login"))
    assert_strict_policy("login", login)
    assert inspect(login).found == []
    settings.DEBUG = False
    missing = site.get("/no/such/page/")
    assert missing.status_code == 404 and inspect(missing).found == []


def test_the_lockout_page_is_clean(alice, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 429
    assert_strict_policy("lockout", response)
    assert inspect(response).found == []
