"""Keys generated once and kept: one key per deployment, whoever starts first."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from compose_web.keys import generated_once, is_fernet_key, new_fernet_key, secrets_keys


def test_generated_once_writes_a_private_file_and_then_keeps_it(tmp_path: Path):
    path = tmp_path / "key.txt"
    assert generated_once(path, lambda: "first") == "first"
    assert generated_once(path, lambda: "second") == "first"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key.txt"]  # no temporary file left


def test_when_another_process_writes_first_its_key_counts(tmp_path: Path):
    path = tmp_path / "key.txt"

    def make() -> str:
        path.write_text("theirs")  # another process gets there while this one makes its key
        return "mine"

    assert generated_once(path, make) == "theirs"
    assert path.read_text() == "theirs"


def test_secrets_keys_from_the_environment_new_key_first(tmp_path: Path):
    new, old = new_fernet_key(), new_fernet_key()
    assert secrets_keys({"COMPOSE_SECRETS_KEY": f"{new}, {old}"}, tmp_path, "") == [new, old]
    assert not (tmp_path / "secrets-key.txt").exists()


def test_secrets_keys_generated_once_on_sqlite(tmp_path: Path):
    keys = secrets_keys({}, tmp_path, "sqlite:///db.sqlite3")
    assert len(keys) == 1 and is_fernet_key(keys[0])
    assert secrets_keys({}, tmp_path, "") == keys


@pytest.mark.parametrize("raw,message", [("hunter2", "not a Fernet key"), ("hunter2,", "empty item")])
def test_bad_keys_are_refused_without_showing_them(tmp_path: Path, raw: str, message: str):
    with pytest.raises(ImproperlyConfigured, match=message) as refused:
        secrets_keys({"COMPOSE_SECRETS_KEY": raw}, tmp_path, "")
    assert "hunter2" not in str(refused.value)


def test_a_shared_database_needs_the_key_set(tmp_path: Path):
    with pytest.raises(ImproperlyConfigured, match="COMPOSE_SECRETS_KEY is not set.*DATABASE_URL"):
        secrets_keys({}, tmp_path, "postgres://db/compose")
    assert not (tmp_path / "secrets-key.txt").exists()


def test_a_damaged_key_file_is_named(tmp_path: Path):
    (tmp_path / "secrets-key.txt").write_text("")
    with pytest.raises(ImproperlyConfigured, match="secrets-key.txt holds no Fernet key"):
        secrets_keys({}, tmp_path, "")
