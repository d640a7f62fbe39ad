"""The queue page's layout: an owner's row actions sit side by side, and the site header
wraps on a narrow screen instead of running off it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

CSS = Path(__file__).resolve().parents[3] / "static" / "css" / "app.css"


def test_an_owners_queue_actions_are_one_row(alice_client, alice, workspace, document):
    from training.models import Run, RunStatus

    run = Run.objects.create(
        workspace=workspace,
        document=document,
        workflow_id="train",
        yaml_snapshot=document.yaml_text,
        inputs={},
        created_by=alice,
        status=RunStatus.QUEUED,
        need_gpus=1,
    )
    page = alice_client.get("/queue/").content.decode()
    cell = re.search(r'<div class="row queue-actions">(.*?)</div>', page, re.S)
    assert cell, "the row's buttons are not in one flex row"
    for action in (f"/queue/{run.pk}/move/top/", f"/queue/{run.pk}/move/bottom/", f"/queue/{run.pk}/cancel/"):
        assert action in cell.group(1)


def test_the_header_and_its_nav_wrap_on_a_narrow_screen():
    css = CSS.read_text()
    header = re.search(r"header\.top \{([^}]*)\}", css).group(1)
    nav = re.search(r"header\.top nav \{([^}]*)\}", css).group(1)
    assert "flex-wrap: wrap" in header and "flex-wrap: wrap" in nav
