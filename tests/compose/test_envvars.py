"""compose.envvars: the one reader of switches and numbers from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.envvars import EnvError, env_bool, env_choice, env_float, env_int, env_list, env_octal, env_path


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "True", "yes", "YES", "on", "On", " on "])
def test_every_spelling_of_on_is_true(raw: str) -> None:
    assert env_bool("X", environ={"X": raw}) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", "OFF", ""])
def test_every_spelling_of_off_is_false(raw: str) -> None:
    assert env_bool("X", True, environ={"X": raw}) is False


def test_unset_is_the_default() -> None:
    assert env_bool("X", environ={}) is False
    assert env_bool("X", True, environ={}) is True


@pytest.mark.parametrize("raw", ["ture", "2", "y", "enabled"])
def test_a_typo_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(EnvError, match=f"HF_HUB_OFFLINE={raw!r} is not a boolean") as caught:
        env_bool("HF_HUB_OFFLINE", environ={"HF_HUB_OFFLINE": raw})
    assert caught.value.name == "HF_HUB_OFFLINE"


def test_numbers_paths_lists_and_choices() -> None:
    env = {"N": "3", "F": "0.5", "M": "027", "P": "sub", "L": "a, b", "C": "inprocess"}
    assert env_int("N", 1, environ=env) == 3
    assert env_float("F", 1.0, environ=env) == 0.5
    assert env_octal("M", 0o077, environ=env) == 0o027
    assert env_path("P", Path("/x"), environ=env, base=Path("/base")) == Path("/base/sub")
    assert env_list("L", environ=env) == ["a", "b"]
    assert env_choice("C", ("subprocess", "inprocess"), environ=env) == "inprocess"
    with pytest.raises(EnvError, match="N='x' is not a whole number"):
        env_int("N", 1, environ={"N": "x"})
    with pytest.raises(EnvError, match="below the minimum of 5"):
        env_int("N", 1, environ=env, minimum=5)
