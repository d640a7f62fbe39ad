"""Every page and JSON endpoint asks for a login first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.factories import make_run

pytestmark = pytest.mark.django_db


def test_every_page_redirects_anonymous_visitors_to_the_login(client, workspace, alice, document):
    run = make_run(workspace, alice, document=document)
    urls = [
        reverse("training:home"),
        reverse("training:workspace", args=[workspace.slug]),
        reverse("training:document_new", args=[workspace.slug]),
        reverse("training:document", args=[document.pk]),
        reverse("training:document_export", args=[document.pk, "seed"]),
        reverse("training:component_edit", args=[document.pk, "custom-trainer"]),
        reverse("training:workflow_edit", args=[document.pk, "train-custom"]),
        reverse("training:run_new", args=[document.pk, "train-custom"]),
        reverse("training:run", args=[run.pk]),
        reverse("training:run_events", args=[run.pk]),
        reverse("datasets_app:list"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    for url in (
        reverse("training:run_cancel", args=[run.pk]),
        reverse("training:run_rerun", args=[run.pk]),
        reverse("training:document_save_yaml", args=[document.pk]),
    ):
        assert client.post(url).status_code == 302, url
    run.refresh_from_db()
    assert run.cancel_requested is False


def test_pages_name_an_icon_that_exists(client):
    import re

    from django.contrib.staticfiles import finders

    html = client.get(reverse("login")).content.decode()
    icon = re.search(r'<link rel="icon"[^>]* href="/static/([^"]+)"', html)
    assert icon and finders.find(icon.group(1))  # no 404 for /favicon.ico in every browser console
