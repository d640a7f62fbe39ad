"""Reading YAML within limits: alias bombs, deep nesting, huge text and unbuildable values
come back as located problems, quickly and in little memory, never as an exception."""

from __future__ import annotations

import time
import tracemalloc

import pytest
import yaml

from compose.exporter import set_field
from compose.loader import parse
from compose.yamlio import limits
from compose.yamlio.bounded import compose_and_construct
from compose.yamlio.edit import rewrite
from tests.compose.yaml_attacks import BOMBS, CRASHES, billion_laughs

TRAINER = "components:\n  - id: t\n    type: model-trainer\n    task: sft\n"


def measured(text: str) -> tuple[list, float, int]:
    """Errors of ``text``, seconds taken and peak bytes allocated."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        errors = parse(text, source="x.yaml").errors
        return errors, time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sorted(BOMBS))
def test_an_alias_bomb_is_refused_at_an_alias_in_little_time_and_memory(name: str) -> None:
    text = BOMBS[name]
    errors, seconds, peak = measured(text)
    assert len(errors) == 1, errors
    problem = errors[0]
    assert "counting each alias as a copy" in problem.message
    assert text.splitlines()[problem.line - 1][problem.column - 1] == "*"  # at the alias that crossed it
    assert seconds < 5 and peak < 20_000_000, (seconds, peak)
    assert len(BOMBS["billion laughs"]) < 415  # the size of the one that took the server down


def test_aliases_read_up_to_the_limit_of_their_uses() -> None:
    uses = ", ".join(["*a"] * limits.MAX_ALIASES)
    assert parse(f"a: &a {{x: 1}}\nb: [{uses}]\n").read.data["b"][-1] == {"x": 1}
    errors = parse(f"a: &a {{x: 1}}\nb: [{uses}, *a]\n").errors
    assert [(e.line, e.message) for e in errors] == [
        (2, f"the document uses aliases more than {limits.MAX_ALIASES:,} times, more than compose-web reads")
    ]


@pytest.mark.parametrize(
    "text, line, column",
    [
        ("a: &a [1, *a]\n", 1, 11),
        ("a: &a {b: {c: *a}}\n", 1, 15),
        ("a: &a {<<: *a}\n", 1, 12),
    ],
)
def test_a_recursive_alias_is_refused_at_the_alias(text: str, line: int, column: int) -> None:
    errors = parse(text).errors
    assert [(e.line, e.column) for e in errors] == [(line, column)]
    assert "inside its own anchor &a" in errors[0].message


def nested_blocks(depth: int) -> str:
    """Block mappings nested so that the deepest value sits ``depth`` levels down."""
    return "".join("  " * level + f"k{level}:\n" for level in range(depth - 2)) + "  " * (depth - 2) + "k: 1\n"


@pytest.mark.parametrize(
    "text, line",
    [
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", 1),
        ("a: " + "{x: " * 5000 + "1" + "}" * 5000 + "\n", 1),
        (nested_blocks(limits.MAX_DEPTH + 1), limits.MAX_DEPTH),  # the last line
        ("- " * 5000 + "x\n", 1),
    ],
)
def test_nesting_deeper_than_the_limit_is_refused(text: str, line: int) -> None:
    errors = parse(text).errors
    assert [e.line for e in errors] == [line]
    assert errors[0].message.startswith(f"the document nests more than {limits.MAX_DEPTH} levels deep")


def test_an_alias_that_nests_the_document_too_deep_is_refused() -> None:
    chain = ["a0: &a0 {k: 1}"] + [f"a{i}: &a{i} {{<<: *a{i - 1}, k{i}: 1}}" for i in range(1, 100)]
    errors = parse("\n".join(chain) + "\n").errors
    assert len(errors) == 1 and "makes the document nest more than" in errors[0].message


def test_nesting_reads_up_to_the_limit_and_not_one_level_more() -> None:
    deep = parse(nested_blocks(limits.MAX_DEPTH))
    assert deep.read.data is not None and deep.errors == []  # an unknown top-level key is only a warning
    assert len(parse(nested_blocks(limits.MAX_DEPTH + 1)).errors) == 1


def test_text_over_the_size_limit_is_refused_unread() -> None:
    errors = parse("a: " + "x" * limits.MAX_BYTES, source="big.yaml").errors
    assert [(e.line, e.column, e.path) for e in errors] == [(1, 1, "")]
    assert errors[0].message == (
        f"the file is {limits.MAX_BYTES + 3:,} bytes; a compose file may be at most "
        f"{limits.MAX_BYTES:,} bytes, so it was not read"
    )


def test_the_size_limit_counts_bytes_not_characters() -> None:
    text = "a: " + "é" * (limits.MAX_BYTES // 2)  # fewer characters than the limit, more bytes
    assert len(text) < limits.MAX_BYTES
    assert "so it was not read" in parse(text).errors[0].message
    assert parse("a: " + "é" * (limits.MAX_BYTES // 2 - 10)).errors == []


@pytest.mark.parametrize("name", sorted(CRASHES))
def test_what_crashed_the_reader_is_a_located_problem(name: str) -> None:
    text, line, column = CRASHES[name]
    errors = parse(text, source="x.yaml").errors
    assert [(e.line, e.column) for e in errors][:1] == [(line, column)], errors


@pytest.mark.parametrize(
    "value, words",
    [
        ("!!float x", "'x' is not a valid !!float"),
        ("!!bool maybe", "'maybe' is not a valid !!bool"),
        ("!!int 12abc", "'12abc' is not a valid !!int"),
        ("9" * 5000, "this number has 5,000 digits"),
    ],
)
def test_a_value_its_tag_cannot_build_says_which_and_where(value: str, words: str) -> None:
    errors = parse(TRAINER + f"    learning_rate: {value}\n").errors
    assert [(e.line, e.column) for e in errors] == [(5, 20)]
    assert words in errors[0].message


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x1b", "\x7f", "\ufffe", "\ud800"])
def test_a_control_character_is_reported_at_its_line_and_column(char: str) -> None:
    errors = parse(TRAINER + f"    model: gp{char}t2\n").errors
    assert [(e.line, e.column) for e in errors] == [(5, 14)]
    assert f"U+{ord(char):04X} is not allowed" in errors[0].message


def test_line_breaks_count_as_yaml_counts_them() -> None:
    errors = parse("a: 1\r\nb: 2\rc: x\x01\n").errors
    assert [(e.line, e.column) for e in errors] == [(3, 5)]


@pytest.mark.parametrize("text", ["", "\n\n", "   \n", "# only a comment\n", "~\n"])
def test_an_empty_file_is_reported_on_line_1(text: str) -> None:
    errors = parse(text).errors
    assert [(e.line, e.column, e.message) for e in errors] == [
        (1, 1, "the file is empty: expected components: and workflows:")
    ]


@pytest.mark.timeout(30)
def test_text_edits_refuse_an_alias_bomb_before_walking_it() -> None:
    with pytest.raises(ValueError):
        set_field(billion_laughs(), "a", 1)
    with pytest.raises(limits.YamlLimitError):
        rewrite(billion_laughs(), {"a": 1})
    with pytest.raises(yaml.YAMLError):
        compose_and_construct("a: &a [*a]\n")
