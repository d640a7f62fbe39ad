"""Weak passwords are refused wherever the app creates a login, and none reaches a log."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "password",
    ["12345678901234", "adminadmin12", "admin", "password1234"],
    ids=["all-digits", "like-the-user-name", "short", "common"],
)
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password, get_user_model()(username="admin"))


def test_a_long_passphrase_is_accepted():
    validate_password("tidal-copper-lantern-47", get_user_model()(username="admin"))


def test_bootstrap_refuses_a_weak_admin_password_naming_the_variable_not_the_value(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("COMPOSE_ADMIN_PASSWORD", "123456789012")
    with pytest.raises(CommandError, match="COMPOSE_ADMIN_PASSWORD") as error:
        call_command("bootstrap", no_models=True, stdout=io.StringIO())
    assert "123456789012" not in str(error.value) and "entirely numeric" in str(error.value)
    assert not get_user_model().objects.filter(username="admin").exists()


def test_bootstrap_prints_where_the_generated_password_is_never_the_password(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("COMPOSE_ADMIN_PASSWORD", raising=False)
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("bootstrap", no_models=True, stdout=out)
    where = tmp_path / "admin-password.txt"
    password = where.read_text().strip()
    assert password not in out.getvalue() and str(where) in out.getvalue()
    assert where.stat().st_mode & 0o777 == 0o600
    assert get_user_model().objects.get(username="admin").check_password(password)


def createsuperuser(monkeypatch, password: str) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", password)
    call_command(
        "createsuperuser",
        "--noinput",
        username="operator",
        email="ops@example.org",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


def test_createsuperuser_without_prompts_refuses_a_weak_password(monkeypatch):
    with pytest.raises(CommandError, match="DJANGO_SUPERUSER_PASSWORD is refused: .*entirely numeric"):
        createsuperuser(monkeypatch, "1234567890123")
    with pytest.raises(CommandError, match="too similar to the username"):
        createsuperuser(monkeypatch, "operator2024")
    assert not get_user_model().objects.filter(username="operator").exists()
    createsuperuser(monkeypatch, "tidal-copper-lantern-47")
    assert get_user_model().objects.get(username="operator").is_superuser


def test_dev_sh_prints_the_password_file_not_the_password():
    script = (ROOT / "scripts" / "dev.sh").read_text()
    assert 'cat "$password_file"' not in script
    assert "password in %s" in script
