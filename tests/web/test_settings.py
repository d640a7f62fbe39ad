"""Settings read the environment strictly: a bad value stops start-up naming the variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from compose_web.env import env_bool, env_choice, env_float, env_int, env_list, env_octal, env_path, env_str

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("1", True),
        ("yes", True),
        ("On", True),
        ("TRUE", True),
        ("0", False),
        ("no", False),
        ("off", False),
        ("", False),
    ],
)
def test_env_bool_accepts_the_usual_spellings(raw, expected):
    assert env_bool("DEBUG", default=not expected, environ={"DEBUG": raw}) is expected


def test_env_bool_refuses_anything_else_naming_the_variable():
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe'"):
        env_bool("DEBUG", environ={"DEBUG": "maybe"})


def test_unset_variables_take_the_default():
    assert env_bool("X", True, environ={}) is True
    assert env_int("X", 7, environ={}) == 7
    assert env_str("X", "d", environ={}) == "d"
    assert env_list("X", ["a"], environ={}) == ["a"]
    assert env_path("X", Path("var"), environ={}, base=Path("/srv")) == Path("/srv/var")


def test_env_int_and_float_refuse_bad_numbers():
    with pytest.raises(ImproperlyConfigured, match="HUEY_WORKERS='two'"):
        env_int("HUEY_WORKERS", 1, environ={"HUEY_WORKERS": "two"})
    with pytest.raises(ImproperlyConfigured, match="minimum of 1"):
        env_int("HUEY_WORKERS", 1, environ={"HUEY_WORKERS": "0"}, minimum=1)
    with pytest.raises(ImproperlyConfigured, match="COMPOSE_HEARTBEAT_S"):
        env_float("COMPOSE_HEARTBEAT_S", 3.0, environ={"COMPOSE_HEARTBEAT_S": "soon"})
    assert env_float("P", 1.0, environ={"P": "0.25"}) == 0.25


def test_env_list_splits_on_commas_and_refuses_empty_items():
    assert env_list("ALLOWED_HOSTS", environ={"ALLOWED_HOSTS": "a.org, b.org"}) == ["a.org", "b.org"]
    with pytest.raises(ImproperlyConfigured, match="empty item"):
        env_list("ALLOWED_HOSTS", environ={"ALLOWED_HOSTS": "a.org,,b.org"})


def test_env_choice_takes_the_first_by_default_and_refuses_others():
    assert env_choice("COMPOSE_EXECUTOR", ("subprocess", "inprocess"), environ={}) == "subprocess"
    assert (
        env_choice("COMPOSE_EXECUTOR", ("subprocess", "inprocess"), environ={"COMPOSE_EXECUTOR": "inprocess"})
        == "inprocess"
    )
    with pytest.raises(ImproperlyConfigured, match="COMPOSE_EXECUTOR='in-process' is not one of subprocess, inprocess"):
        env_choice("COMPOSE_EXECUTOR", ("subprocess", "inprocess"), environ={"COMPOSE_EXECUTOR": "in-process"})


def test_env_path_resolves_relative_values_against_the_base():
    assert env_path("P", Path("x"), environ={"P": "data/w"}, base=Path("/srv")) == Path("/srv/data/w")
    assert env_path("P", Path("x"), environ={"P": "/abs"}, base=Path("/srv")) == Path("/abs")


def _settings_in_subprocess(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    code = (
        "import json, compose_web.settings as s; "
        "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'opts': s.DATABASES['default'].get('OPTIONS', {}),"
        " 'huey': s.HUEY['huey_class'], 'immediate': s.HUEY['immediate'],"
        " 'layer': s.CHANNEL_LAYERS['default']['BACKEND'], 'storage': str(s.COMPOSE_STORAGE_DIR),"
        " 'mw': s.MIDDLEWARE}, default=str))"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "HUEY_IMMEDIATE", "COMPOSE_STORAGE_DIR", "COMPOSE_SECRETS_KEY")
    }
    clean.update({"COMPOSE_VAR_DIR": str(tmp_path / "var"), "SECRET_KEY": "test", **env})
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_bare_clone_runs_on_sqlite_wal_and_huey_on_sqlite(tmp_path):
    proc = _settings_in_subprocess(tmp_path)
    assert proc.returncode == 0, proc.stderr
    conf = json.loads(proc.stdout)
    assert conf["db"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in conf["opts"]["init_command"]
    assert "busy_timeout" in conf["opts"]["init_command"]
    assert conf["huey"] == "huey.SqliteHuey" and conf["immediate"] is False
    assert conf["layer"] == "channels.layers.InMemoryChannelLayer"
    assert conf["storage"] == str(tmp_path / "var" / "storage")
    assert "django.contrib.auth.middleware.LoginRequiredMiddleware" in conf["mw"]


def test_database_and_redis_urls_switch_to_postgres_and_redis(tmp_path):
    proc = _settings_in_subprocess(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        COMPOSE_SECRETS_KEY="A" * 43 + "=",
        REDIS_URL="redis://127.0.0.1:6379/0",
        HUEY_IMMEDIATE="1",
    )
    assert proc.returncode == 0, proc.stderr
    conf = json.loads(proc.stdout)
    assert conf["db"] == "django.db.backends.postgresql"
    assert conf["huey"] == "huey.PriorityRedisHuey" and conf["immediate"] is True
    assert conf["layer"] == "channels_redis.core.RedisChannelLayer"


def test_a_bad_debug_value_stops_start_up(tmp_path):
    proc = _settings_in_subprocess(tmp_path, DEBUG="maybe")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr and "DEBUG='maybe'" in proc.stderr


def test_the_secrets_key_is_generated_once_on_the_embedded_default(tmp_path):
    code = "import json, compose_web.settings as s; print(json.dumps(s.COMPOSE_SECRETS_KEYS))"
    env = {k: v for k, v in os.environ.items() if k not in ("COMPOSE_SECRETS_KEY", "DATABASE_URL")}
    env.update(COMPOSE_VAR_DIR=str(tmp_path / "var"), SECRET_KEY="test")
    runs = [
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        for _ in range(2)
    ]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr
    first, second = (json.loads(run.stdout) for run in runs)
    assert len(first) == 1 and first == second
    assert (tmp_path / "var" / "secrets-key.txt").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "env",
    [
        {"COMPOSE_SECRETS_KEY": "hunter2"},
        {"COMPOSE_SECRETS_KEY": "A" * 43 + "=,hunter2,"},
        {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test"},
    ],
    ids=["not-a-key", "trailing-comma", "shared-database-without-key"],
)
def test_a_missing_or_bad_secrets_key_stops_start_up_naming_the_setting_never_the_value(tmp_path, env):
    proc = _settings_in_subprocess(tmp_path, **env)
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr and "COMPOSE_SECRETS_KEY" in proc.stderr
    assert "hunter2" not in proc.stderr


def test_env_octal_reads_modes_as_chmod_does():
    assert env_octal("COMPOSE_UMASK", 0o077, environ={}) == 0o077
    assert env_octal("COMPOSE_UMASK", 0o077, environ={"COMPOSE_UMASK": "027"}) == 0o027
    assert env_octal("COMPOSE_UMASK", 0o077, environ={"COMPOSE_UMASK": "0o007"}) == 0o007
    with pytest.raises(ImproperlyConfigured, match="COMPOSE_UMASK='089' is not an octal number"):
        env_octal("COMPOSE_UMASK", 0o077, environ={"COMPOSE_UMASK": "089"})
    with pytest.raises(ImproperlyConfigured, match="above 777"):
        env_octal("COMPOSE_UMASK", 0o077, environ={"COMPOSE_UMASK": "1777"})


def _files_made_by_a_fresh_install(tmp_path: Path, **env: str) -> dict[str, int]:
    """Modes of what starting up and writing to the database create under a new var/."""
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'compose_web.settings'; django.setup(); "
        "from django.db import connection; connection.cursor().execute('CREATE TABLE t (x int)')"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "COMPOSE_SECRETS_KEY", "COMPOSE_UMASK")
    }
    clean.update(COMPOSE_VAR_DIR=str(tmp_path / "var"), **env)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    var = tmp_path / "var"
    return {str(p.relative_to(tmp_path)): p.stat().st_mode & 0o777 for p in [var, *var.iterdir()]}


def test_a_fresh_install_keeps_its_files_to_its_user(tmp_path):
    modes = _files_made_by_a_fresh_install(tmp_path)
    assert modes["var"] == 0o700
    assert modes["var/db.sqlite3"] == 0o600
    assert modes["var/secret-key.txt"] == 0o600 and modes["var/secrets-key.txt"] == 0o600
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes  # -wal, static/ and the rest


def test_compose_umask_lets_a_group_read(tmp_path):
    modes = _files_made_by_a_fresh_install(tmp_path, COMPOSE_UMASK="027")
    assert modes["var"] == 0o750 and modes["var/db.sqlite3"] == 0o640
