"""``match`` in a where tree runs on RE2: Python's answers for ordinary patterns, linear time for all."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runner.dataset_prep.expression import ExpressionError
from runner.dataset_prep.regex import RegexError, compile_search
from runner.dataset_prep.where import compile_where

REPO = Path(__file__).resolve().parents[3]

# Patterns people write in data preparation, on text that exercises them; RE2 must agree with re.
PATTERNS = [
    "x{5}$",
    r"^task \d+$",
    "(?i)hello",
    r"\bcat\b",
    "[A-Z][a-z]+",
    "colou?r",
    "a.c",
    "^$",
    r"\.",
    "foo|bar",
    "(ab)+",
    "[^aeiou]{3}",
    r"\s+$",
    r"^\s*$",
    "é+",
    "(?s)a.b",
    "(?m)^b",
    r"\d{3}-\d{4}",
    r"^\[INST\]",
    r"https?://\S+",
    r"(?P<word>\w+)@",
    "[0-9a-f]{8}",
    "^(?:yes|no)$",
    r"\$\d+\.\d\d",
]
TEXTS = [
    "",
    "task 12",
    "task 12b",
    "Hello World",
    "a cat sat",
    "concatenate",
    "color colour",
    "abc a-c",
    "end.",
    "foobar",
    "ababab",
    "rhythm",
    "trailing  ",
    "   ",
    "café",
    "a\nb",
    "a\nb\nc",
    "555-1234",
    "[INST] hi",
    "see https://example.org/x?y=1 now",
    "mail me@example.org",
    "deadbeef99",
    "yes",
    "$12.50",
    "xxxxx",
    "answer xxxxxxx",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_same_answers_as_python_re(pattern):
    search = compile_search(pattern)
    assert [search(t) for t in TEXTS] == [re.search(pattern, t) is not None for t in TEXTS]


def test_perl_classes_are_ascii_and_unicode_classes_are_spelled_out():
    # Documented in docs/datasets.md: \w \d \s \b follow RE2 (ASCII); \p{L} and friends cover the rest.
    assert not compile_search(r"^\w+$")("héllo") and compile_search(r"^\p{L}+$")("héllo")
    assert not compile_search(r"\d")("٣") and compile_search(r"\p{Nd}")("٣")


@pytest.mark.parametrize(
    "pattern, reason",
    [
        (r"(a)\1", r"has no backreferences (\1)"),
        ("(?P<x>a)(?P=x)", "has no backreferences (?P=name)"),
        ("foo(?=bar)", "has no lookahead (?=...)"),
        ("foo(?!bar)", "has no negative lookahead (?!...)"),
        ("(?<=a)b", "has no lookbehind (?<=...)"),
        ("(?<!a)b", "has no negative lookbehind (?<!...)"),
        (r"end\Z", r"writes the end of the text as \z"),
        ("a++", "no nested or possessive repetition"),
        ("a{1001}", "counts repetitions up to {1000}"),
        ("(", "missing ): ("),
    ],
)
def test_refused_patterns_name_the_pattern_and_why(pattern, reason):
    with pytest.raises(ExpressionError) as info:
        compile_where({"any": [{"column": "t", "operator": "match", "value": pattern}]}, ["t"])
    message = str(info.value)
    assert message.startswith(f"where.any[0].value: invalid regular expression {pattern!r}: ")
    assert reason in message and "re2/wiki/Syntax" in message


def test_a_huge_pattern_is_refused_and_shown_short():
    with pytest.raises(RegexError) as info:
        compile_search("(x|y)" * 400_000)
    assert "(2,000,000 characters)" in str(info.value) and "RE2's memory limit" in str(info.value)


def test_a_refused_pattern_fails_the_job_before_any_row(jobs):
    jobs.write_jsonl("t.jsonl", [{"t": "foobar"}])
    ref = jobs.run("load", loader="json", data_files="t.jsonl")
    before = len(jobs.events)
    message = jobs.fail("filter", dataset=ref, where={"column": "t", "operator": "match", "value": "foo(?=bar)"})
    assert message.startswith("filter condition: where.value: invalid regular expression 'foo(?=bar)'")
    assert not [e for e in jobs.events[before:] if e["type"] == "progress"]


_CHILD = """
import json, sys, time
from runner.dataset_prep.where import compile_where
pattern, text = json.loads(sys.argv[1])
condition = compile_where({"column": "t", "operator": "match", "value": pattern}, ["t"])
start = time.monotonic()
matched = condition({"t": [text] * 20}, 20)
print(json.dumps([matched[0], time.monotonic() - start]))
"""


@pytest.mark.parametrize(
    "pattern, text",
    [
        (r"^(a+)+$", "a" * 32 + "!"),
        (r"^(a|a?)+$", "a" * 32 + "!"),
        (r"^(\w+\s?)*$", "a" * 32 + "!"),
        (r"(x+x+)+y", "x" * 32),
    ],
)
def test_catastrophic_patterns_run_in_linear_time(pattern, text):
    # Python's re needs minutes here and cannot be interrupted, so the case runs in a child process.
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps([pattern, text])],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    matched, seconds = json.loads(done.stdout)
    assert matched is False and seconds < 5


def test_where_nesting_is_limited_with_its_path():
    tree: dict = {"column": "t", "operator": "eq", "value": "a"}
    for _ in range(150):
        tree = {"not": tree}
    with pytest.raises(ExpressionError) as info:
        compile_where({"all": [tree]}, ["t"])
    assert str(info.value) == (
        "where.all[0].not.not.…(94 more).not.not.not: the where tree nests more than 100 levels deep"
    )


def test_where_nesting_up_to_the_limit_works():
    tree: dict = {"column": "t", "operator": "eq", "value": "a"}
    for _ in range(99):
        tree = {"not": tree}
    assert compile_where(tree, ["t"])({"t": ["a", "b"]}, 2) == [False, True]
