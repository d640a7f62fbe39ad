"""3,600 seeded mutants of the example, broken and seed files: reading any of them,
through the core or through `compose validate`, gives problems that each say where (a
line or a path), and never raises."""

from __future__ import annotations

import collections
import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from compose.cli import main
from compose.loader import parse
from tests.compose.mutants import EDITS, Mutant, mutants, sources

COUNT = 3600


@pytest.fixture(scope="module")
def corpus() -> list[Mutant]:
    return list(mutants(COUNT))


def test_the_corpus_is_large_varied_and_repeatable(corpus: list[Mutant]) -> None:
    assert len(corpus) == COUNT and len(sources()) >= 14  # 2 examples and 12 broken files, with or without the seed
    assert len({m.text for m in corpus}) > 0.9 * COUNT
    used = collections.Counter(edit for m in corpus for edit in m.name.split(": ", 1)[1].split(", "))
    assert set(used) == {edit.__name__.lstrip("_") for edit in EDITS}
    assert [m.text for m in mutants(50)] == [m.text for m in corpus[:50]]


def test_every_mutant_reads_to_problems_that_say_where(corpus: list[Mutant]) -> None:
    crashed, unlocated = [], []
    for mutant in corpus:
        try:
            result = parse(mutant.text, source="m.yaml")
        except Exception as exc:  # noqa: BLE001 - any exception is the failure being counted
            crashed.append(f"{mutant.name}: {type(exc).__name__}: {exc}")
            continue
        unlocated += [f"{mutant.name}: {p}" for p in result.problems if p.line is None and not p.path]
    assert crashed == [] and unlocated == []


def test_compose_validate_reports_every_mutant(corpus: list[Mutant], tmp_path: Path) -> None:
    paths = []
    for number, mutant in enumerate(corpus):
        path = tmp_path / f"m{number}.yaml"
        path.write_bytes(mutant.text.encode("utf-8", "surrogatepass"))  # a lone surrogate stays as bytes
        paths.append(str(path))
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(["validate", *paths])
    assert status == 1
    verdicts = re.findall(r"^(?:ok|invalid): (\S+) - |^error: cannot read (\S+):", out.getvalue(), re.M)
    assert sorted(a or b for a, b in verdicts) == sorted(paths)
