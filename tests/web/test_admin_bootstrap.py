"""``manage.py bootstrap`` gives a newcomer a login, a Demo workspace and documents; twice is harmless."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from training.models import ComposeDocument, Workspace

pytestmark = pytest.mark.django_db


def bootstrap(**kwargs) -> str:
    out = io.StringIO()
    call_command("bootstrap", no_models=True, stdout=out, **kwargs)
    return out.getvalue()


def test_bootstrap_creates_a_login_a_workspace_and_valid_documents(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("COMPOSE_ADMIN_PASSWORD", raising=False)
    settings.VAR_DIR = tmp_path
    output = bootstrap()

    password = (tmp_path / "admin-password.txt").read_text().strip()
    assert password not in output and str(tmp_path / "admin-password.txt") in output
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    demo = Workspace.objects.get(slug="demo")
    assert demo.memberships.get().user == admin
    names = set(ComposeDocument.objects.filter(workspace=demo).values_list("name", flat=True))
    assert {"tiny-sft", "minilm-classification", "smollm2-lora-sft"} <= names
    for doc in ComposeDocument.objects.all():
        assert doc.is_valid, (doc.name, doc.definition["problems"])
    assert (demo.root / "data" / "tiny-sft.jsonl").exists()


def test_bootstrap_twice_keeps_what_exists(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("COMPOSE_ADMIN_PASSWORD", "chosen-password")
    bootstrap()
    doc = ComposeDocument.objects.get(name="tiny-sft")
    doc.yaml_text += "\n# edited in the browser\n"
    doc.save()
    output = bootstrap()
    assert "chosen-password" not in output and not (tmp_path / "admin-password.txt").exists()
    assert get_user_model().objects.get(username="admin").check_password("chosen-password")
    assert Workspace.objects.count() == 1
    assert ComposeDocument.objects.get(name="tiny-sft").yaml_text.endswith("# edited in the browser\n")
    assert ComposeDocument.objects.filter(name="tiny-sft").count() == 1
