"""The condition language on its own: what it computes, and what it refuses."""

from __future__ import annotations

import pytest

from runner.dataset_prep.expression import ExpressionError, compile_condition

COLUMNS = ["text", "n", "tags"]
ROWS = [
    {"text": "Hello World", "n": 3, "tags": ["a", "b"]},
    {"text": "", "n": -2, "tags": []},
    {"text": "  padded  ", "n": 10, "tags": ["c"]},
]


def evaluate(source: str) -> list:
    condition = compile_condition(source, COLUMNS)
    batch = {c: [r[c] for r in ROWS] for c in COLUMNS}
    return condition(batch, len(ROWS))


@pytest.mark.parametrize(
    "source, expected",
    [
        ("n > 0", [True, False, True]),
        ("n * 2 - 1 >= 5", [True, False, True]),
        ("n // 3 == 1 or n % 5 == 0", [True, False, True]),
        ("-n < 0", [True, False, True]),
        ("text.lower() == 'hello world'", [True, False, False]),
        ("strip(text) == 'padded'", [False, False, True]),
        ("text.strip().startswith('pad')", [False, False, True]),
        ("'a' in tags", [True, False, False]),
        ("len(tags) == 0", [False, True, False]),
        ("tags[0] == 'c' if tags else False", [False, False, True]),
        ("text[:5] == 'Hello'", [True, False, False]),
        ("n in {3, 10}", [True, False, True]),
        ("n not in (3,)", [False, True, True]),
        ("min(n, 5) == 5", [False, False, True]),
        ("float(n) / 4 == 0.75", [True, False, False]),
        ("str(n) + 'x' == '3x'", [True, False, False]),
        ("text and n", [3, "", 10]),  # Python's and returns the deciding value
        ("text or 'empty'", ["Hello World", "empty", "  padded  "]),
        ("True", [True, True, True]),
        ("0 < n < 5", [True, False, False]),
    ],
)
def test_values(source, expected):
    assert evaluate(source) == expected


@pytest.mark.parametrize(
    "source, message",
    [
        ("__import__('os')", "unknown function '__import__'"),
        ("__import__('os').system('echo hi')", "unknown method 'system'"),
        ("text.__class__", "attribute access is not allowed"),
        ("text.__class__.__mro__", "attribute access is not allowed"),
        ("(lambda: 1)()", "only functions and string methods can be called"),
        ("[x for x in tags]", "a comprehension is not allowed"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("text.format(n)", "unknown method 'format'"),
        ("n ** 99999999", "operator Pow is not allowed"),
        ("(y := 1)", "assignment (:=) is not allowed"),
        ("f'{text}'", "an f-string is not allowed"),
        ("len(text, key=1)", "plain positional arguments only"),
        ("[n, 1]", "literal values"),
        ("len", "len is a function: call it"),
        ("", "the condition is empty"),
    ],
)
def test_refused(source, message):
    with pytest.raises(ExpressionError) as info:
        compile_condition(source, COLUMNS)
    assert message in str(info.value)


def test_caret_under_the_offending_node():
    with pytest.raises(ExpressionError) as info:
        compile_condition("n > 1 and nope == 2", COLUMNS)
    text = str(info.value)
    assert "unknown column 'nope'" in text and "at column 11" in text
    assert text.endswith("n > 1 and nope == 2\n" + "  " + " " * 10 + "^")


def test_caret_under_an_unknown_method():
    with pytest.raises(ExpressionError) as info:
        compile_condition("text.zfill(3)", COLUMNS)
    assert str(info.value).endswith("text.zfill(3)\n" + "  " + " " * 5 + "^")


def test_columns_read_are_recorded():
    assert compile_condition("len(text) > n", COLUMNS).columns == ["n", "text"]
    assert compile_condition("1 < 2", COLUMNS).columns == []


def test_compiled_once_evaluated_per_batch_without_eval(monkeypatch):
    condition = compile_condition("n > 1", COLUMNS)

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec/compile must not be used")

    import builtins

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", forbidden)
    assert condition({"n": [1, 2, 3], "text": ["", "", ""], "tags": [[], [], []]}, 3) == [False, True, True]
