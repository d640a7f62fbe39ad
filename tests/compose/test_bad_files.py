"""The corpus of broken compose files: each reports exactly the problems it announces.

Every file in ``bad/`` opens with ``# expect: <path> line <n>: <words>`` comments
(``<root>`` for the file itself); the file must report those errors, at those paths
and lines, and no other error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compose.errors import ComposeError
from compose.loader import load_compose, parse

BAD = Path(__file__).parent / "bad"
EXPECT = re.compile(r"^# expect: (\S+) line (\d+): (.+)$")


def expectations(path: Path) -> list[tuple[str, int, str]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = EXPECT.match(line)
        if match:
            where = "" if match.group(1) == "<root>" else match.group(1)
            found.append((where, int(match.group(2)), match.group(3)))
    return found


BAD_FILES = sorted(BAD.glob("*.yaml"))


def test_corpus_covers_the_common_mistakes() -> None:
    names = {p.stem for p in BAD_FILES}
    assert {
        "typo-field-name",
        "wrong-type",
        "cycle",
        "text-and-prompt-columns",
        "lora-without-peft-adapter",
        "quantization-without-lora",
        "unknown-optimizer",
        "reads-job-without-depends-on",
        "many-mistakes",
    } <= names
    assert all(expectations(p) for p in BAD_FILES), "every bad file announces what it expects"


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_file_reports_exactly_its_problems(path: Path) -> None:
    result = parse(path.read_text(encoding="utf-8"), source=path.name)
    got = [(p.path, p.line, p.message) for p in result.errors]
    expected = expectations(path)
    assert len(got) == len(expected), "\n".join(map(str, result.problems))
    for (where, line, words), (got_path, got_line, message) in zip(expected, got, strict=True):
        assert (got_path, got_line) == (where, line), "\n".join(map(str, result.problems))
        assert words in message
    for problem in result.errors:
        assert problem.column is not None and problem.column >= 1


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_load_compose_raises_with_every_problem(path: Path) -> None:
    with pytest.raises(ComposeError) as caught:
        load_compose(path.read_text(encoding="utf-8"), source=path.name)
    assert len(caught.value.problems) == len(expectations(path))
    text = str(caught.value)
    for _where, line, _ in expectations(path):
        assert f"{path.name}:{line}:" in text


def test_many_mistakes_message_reads_like_compiler_output() -> None:
    path = BAD / "many-mistakes.yaml"
    with pytest.raises(ComposeError) as caught:
        load_compose(path.read_text(encoding="utf-8"), source="many-mistakes.yaml")
    lines = str(caught.value).splitlines()
    assert lines[0] == "5 problems in the compose file"
    assert lines[1].strip() == (
        "many-mistakes.yaml:11:5: components[0].lora_alpha: lora_alpha has no "
        "effect without LoRA: set peft_adapter: lora"
    )
