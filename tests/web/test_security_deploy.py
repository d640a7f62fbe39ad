"""`manage.py check --deploy` is clean once COMPOSE_HTTPS says the site is served over HTTPS."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "COMPOSE_SECRETS_KEY", "SECRET_KEY")
    }
    clean.update(
        {
            "COMPOSE_VAR_DIR": str(tmp_path / "var"),
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "compose.example.org",
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_has_no_warnings_under_https(tmp_path):
    proc = check_deploy(tmp_path, COMPOSE_HTTPS="1")
    assert proc.returncode == 0, proc.stderr
    assert "no issues" in proc.stdout


def test_check_deploy_is_clean_behind_a_proxy_that_ends_tls(tmp_path):
    proc = check_deploy(tmp_path, COMPOSE_HTTPS="1", COMPOSE_BEHIND_PROXY="1")
    assert proc.returncode == 0, proc.stderr


def test_without_https_check_deploy_names_what_is_missing(tmp_path):
    proc = check_deploy(tmp_path)
    assert proc.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in proc.stderr


def test_the_https_settings_follow_compose_https(tmp_path):
    code = (
        "import json, compose_web.settings as s; print(json.dumps([s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, getattr(s, 'SECURE_PROXY_SSL_HEADER', None)]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(COMPOSE_VAR_DIR=str(tmp_path / "var"), SECRET_KEY="test", COMPOSE_HTTPS="1", COMPOSE_BEHIND_PROXY="1")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '[true, 31536000, true, true, ["HTTP_X_FORWARDED_PROTO", "https"]]'
