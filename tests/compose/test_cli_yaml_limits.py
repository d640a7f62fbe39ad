"""`compose validate` on files that hung or crashed it: an 18 MB file, alias bombs, values
YAML cannot build. Each is reported as `file:line:column: message` and exits 1."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from compose.cli import main
from compose.yamlio.limits import MAX_BYTES
from tests.compose.yaml_attacks import BOMBS, CRASHES


def test_a_file_over_the_size_limit_is_refused_reading_no_more_than_the_limit(tmp_path: Path, capsys) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as file:
        file.truncate(18_000_000)  # sparse: 18 MB that cost nothing to write
    tracemalloc.start()
    try:
        status = main(["validate", str(big)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{big}:1:1: the file is 18,000,000 bytes; a compose file may be at most {MAX_BYTES:,} bytes, "
        "so it was not read",
        f"invalid: {big} - 1 error",
    ]
    assert peak < 8 * MAX_BYTES  # the first megabyte, decoded; never the 18


@pytest.mark.timeout(60)
def test_alias_bombs_are_reported_at_their_line(tmp_path: Path, capsys) -> None:
    paths = []
    for number, text in enumerate(BOMBS.values()):
        paths.append(tmp_path / f"bomb{number}.yaml")
        paths[-1].write_text(text, encoding="utf-8")
    assert main(["validate", *map(str, paths)]) == 1
    out = capsys.readouterr().out
    for path in paths:
        assert f"invalid: {path} - 1 error" in out
        assert any(line.startswith(f"{path}:") and "counting each alias as a copy" in line for line in out.splitlines())


@pytest.mark.parametrize("name", sorted(CRASHES))
def test_what_crashed_validate_is_a_located_problem(name: str, tmp_path: Path, capsys) -> None:
    text, line, column = CRASHES[name]
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    assert f"{path}:{line}:{column}: " in capsys.readouterr().out
