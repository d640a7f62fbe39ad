"""API tokens: made on the settings page and shown once, stored hashed, revoked by their
user or by staff; the API answers 401 without a valid one and 404 for another workspace."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.factories import TINY_DOCUMENT, make_run
from training.actions.tokens import create_token, revoke_token
from training.models import ApiToken, ComposeDocument, Membership, Workspace

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_settings_page_shows_a_new_token_once_and_stores_only_its_digest(client, alice):
    client.force_login(alice)
    response = client.post(reverse("training:tokens"), {"name": "laptop"})
    assert response.status_code == 200
    raw = response.context["new_token"]
    assert raw.startswith("cwt_") and raw.encode() in response.content
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=alice)
    assert token.name == "laptop" and raw not in (token.digest, token.hint)
    again = client.get(reverse("training:tokens"))
    assert raw.encode() not in again.content and b"laptop" in again.content and b"never" in again.content


def test_a_token_acts_as_its_user_and_notes_when_it_was_used(client, alice, workspace):
    token, raw = create_token(alice, "ci")
    response = client.get("/api/v1/workspaces", **bearer(raw))
    assert response.status_code == 200
    assert response.json()["results"] == [{"slug": "lab", "name": "Lab", "role": "owner"}]
    token.refresh_from_db()
    assert token.last_used is not None


def test_no_token_a_wrong_one_or_a_revoked_one_is_401_with_the_error_body(client, alice, workspace):
    token, raw = create_token(alice, "ci")
    revoke_token(token)
    for headers in ({}, bearer("cwt_nope"), bearer(raw)):
        response = client.get("/api/v1/workspaces", **headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
        [error] = response.json()["errors"]
        assert set(error) == {"path", "message", "line", "column"}


def test_a_session_login_does_not_open_the_api(client, alice, workspace):
    client.force_login(alice)
    assert client.get("/api/v1/workspaces").status_code == 401


def test_many_wrong_tokens_from_one_address_are_slowed_down(client, alice, settings):
    from django.core.cache import cache

    cache.clear()
    statuses = [client.get("/api/v1/workspaces", **bearer(f"cwt_guess{i}")).status_code for i in range(32)]
    assert statuses[:30] == [401] * 30 and statuses[-1] == 429
    cache.clear()


def test_one_user_cannot_revoke_anothers_token_but_staff_can(client, alice, bob, staff):
    token, raw = create_token(alice, "ci")
    client.force_login(bob)
    assert client.post(reverse("training:token_revoke", args=[token.pk])).status_code == 404
    client.force_login(staff)
    response = client.post(
        reverse("admin:training_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked is not None
    assert client.get("/api/v1/workspaces", **bearer(raw)).status_code == 401


def test_what_another_workspace_holds_is_404_everywhere(client, alice, bob, workspace):
    document = ComposeDocument.objects.create(workspace=workspace, name="tiny", yaml_text=TINY_DOCUMENT)
    run = make_run(workspace, alice, document=document)
    other = Workspace.objects.create(name="Other", slug="other")
    Membership.objects.create(user=bob, workspace=other)
    _, raw = create_token(bob, "bob")
    gets = [
        f"/api/v1/documents/{document.pk}",
        f"/api/v1/documents/{document.pk}/export",
        f"/api/v1/runs/{run.pk}",
        f"/api/v1/runs/{run.pk}/events",
        f"/api/v1/runs/{run.pk}/metrics",
        f"/api/v1/runs/{run.pk}/artifacts",
        f"/api/v1/runs/{run.pk}/download",
        f"/api/v1/runs/{run.pk}/artifacts/1/download",
        f"/api/v1/runs/{run.pk}/events/stream",
        "/api/v1/documents?workspace=lab",
        "/api/v1/runs?workspace=lab",
    ]
    for url in gets:
        response = client.get(url, **bearer(raw))
        assert response.status_code == 404, url
        assert response.json()["errors"][0]["message"], url
    posts = [(f"/api/v1/runs/{run.pk}/{verb}", {}) for verb in ("cancel", "resume", "rerun")]
    posts.append(("/api/v1/runs", {"document": document.pk}))
    posts.append(("/api/v1/documents", {"workspace": "lab", "name": "x", "yaml": TINY_DOCUMENT}))
    for url, body in posts:
        response = client.post(url, body, content_type="application/json", **bearer(raw))
        assert response.status_code == 404, url
    response = client.put(
        f"/api/v1/documents/{document.pk}", {"yaml": TINY_DOCUMENT}, content_type="application/json", **bearer(raw)
    )
    assert response.status_code == 404
    assert client.get("/api/v1/runs", **bearer(raw)).json()["results"] == []
    assert client.get("/api/v1/documents", **bearer(raw)).json()["results"] == []


def test_an_unknown_api_path_answers_in_the_error_body(client):
    response = client.get("/api/v1/nothing/here")
    assert response.status_code == 404
    assert response.json()["errors"][0]["message"] == "no API endpoint /api/v1/nothing/here"


@pytest.mark.parametrize(
    "method, path", [("delete", "/api/v1/workspaces"), ("patch", "/api/v1/runs"), ("put", "/api/v1/runs/1/cancel")]
)
def test_a_method_the_path_does_not_take_answers_405_in_the_error_body(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    allowed = response["Allow"]
    assert allowed and method.upper() not in allowed
    assert response.json()["errors"][0]["message"] == f"{method.upper()} is not allowed here; use {allowed}"
