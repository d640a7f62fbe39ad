"""The run state machine as the models document it, and who may see what."""

from __future__ import annotations

import pytest
from django.http import Http404

from tests.web.factories import make_run
from training.models import (
    Membership,
    Run,
    RunStatus,
    Workspace,
    events_after,
    get_run_or_404,
    get_workspace_or_404,
    runs_for,
    workspaces_for,
)

pytestmark = pytest.mark.django_db


def test_every_status_is_documented_in_the_docstring():
    for status in RunStatus:
        assert status.value in Run.__doc__


def test_workspace_root_and_default_models(workspace, settings, tmp_path):
    assert workspace.root == settings.COMPOSE_WORKSPACES_DIR / "lab"
    settings.COMPOSE_DEFAULT_SFT_MODEL = "/models/tiny"
    settings.COMPOSE_DEFAULT_CLASSIFICATION_MODEL = ""
    assert workspace.default_models() == {"sft": "/models/tiny"}
    workspace.default_classification_model = "/models/minilm"
    assert workspace.default_models()["classification"] == "/models/minilm"


def test_users_see_only_their_workspaces_and_runs(workspace, alice, bob):
    other = Workspace.objects.create(name="Other", slug="other")
    Membership.objects.create(user=bob, workspace=other, role=Membership.Role.OWNER)
    mine, theirs = make_run(workspace, alice), make_run(other, bob)

    assert list(workspaces_for(alice)) == [workspace]
    assert list(runs_for(alice)) == [mine]
    assert get_run_or_404(bob, theirs.pk) == theirs
    with pytest.raises(Http404):
        get_run_or_404(bob, mine.pk)
    with pytest.raises(Http404):
        get_workspace_or_404(bob, "lab")
    assert get_workspace_or_404(alice, "lab") == workspace


def test_anonymous_users_see_nothing(workspace):
    from django.contrib.auth.models import AnonymousUser

    assert not workspaces_for(AnonymousUser()).exists()


def test_events_after_pages_in_seq_order(workspace):
    from compose import events as ev
    from training.actions import record_event

    run = make_run(workspace)
    for i in range(5):
        record_event(run, ev.log("load", f"line {i}"))
    assert [e.seq for e in events_after(run, 0)] == [1, 2, 3, 4, 5]
    assert [e.seq for e in events_after(run, 2, limit=2)] == [3, 4]
    assert events_after(run.pk, 5) == []
