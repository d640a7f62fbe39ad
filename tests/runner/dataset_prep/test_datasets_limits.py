"""What a condition may build and how deep it may nest: refused before the work, with its place."""

from __future__ import annotations

import random
import time

import pytest

from runner.dataset_prep import expression, guards, limits
from runner.dataset_prep.expression import ExpressionError, compile_condition
from runner.dataset_prep.limits import BatchLimitError, LimitError
from runner.dataset_prep.printf import printf_bound

COLUMNS = ["text", "n", "tags"]
BATCH = {"text": ["hello", "", "x" * 3000], "n": [3, -2, 10], "tags": [["a"], [], ["b", "c"]]}


def evaluate(source: str) -> list:
    return compile_condition(source, COLUMNS)(BATCH, 3)


@pytest.mark.parametrize(
    "source, message, column",
    [
        ("'a' * 50_000_000 == text", "builds a string of 50,000,000 characters; the limit is 10,000,000", 1),
        ("n > 0 and (1, 2) * 6_000_000 == tags", "builds a tuple of 12,000,000 items", 11),
        ("b'x' * 20_000_000 != text", "builds a bytes value of 20,000,000 bytes", 1),
        ("'%050000000d' % 1 == text", "builds a string of up to 50,000,", 1),
        ("'%.50000000f' % 1.5 == text", "builds a string of up to 50,000,", 1),
        ("'%*d' % (50_000_000, 1) == text", "builds a string of up to 50,000,", 1),
        ("len('x' * 6_000_000 + 'y' * 6_000_000) > n", "builds a string of 12,000,000 characters", 5),
    ],
)
def test_constant_size_bombs_are_refused_when_compiled(source, message, column):
    with pytest.raises(ExpressionError) as info:
        compile_condition(source, COLUMNS)
    assert message in str(info.value) and f"at column {column}\n" in str(info.value)


@pytest.mark.parametrize(
    "source, message",
    [
        ("len(text * 5_000) > 0", "builds a string of 15,000,000 characters; the limit is 10,000,000"),
        ("len(tags * 6_000_000) > 0", "builds a list of 12,000,000 items"),
        ("len(text % ()) > 0 if text else True", ""),  # formatting a value that holds no % is fine
        ("int('1' * 6000, 2) * int('1' * 6000, 2) > n", "an integer of 12,000 bits with *; the limit is 10,000 bits"),
        ("int('1' * 20000, 2) % 7 == n", "divides an integer of 20,000 bits"),
        ("round(n, -2_000_000) == 0", "round() to -2,000,000 digits; the limit is 1,000"),
        ("text.strip('b' * 5_000 + 'a') == ''", "strip() with 5,001 characters to strip; the limit is 1,000"),
    ],
)
def test_values_built_from_rows_are_limited_per_row(source, message):
    if not message:
        assert evaluate(source) == [True, True, True]
        return
    with pytest.raises(LimitError) as info:
        evaluate(source)
    assert message in str(info.value) and "at column " in str(info.value)


def test_ordinary_arithmetic_and_text_are_unchanged():
    assert evaluate("n * 2 - 1 >= 5") == [True, False, True]
    assert evaluate("str(n) + '!' * 3 == '3!!!'") == [True, False, False]
    assert evaluate("len(text + text) % 7") == [3, 0, 1]
    assert evaluate("'%s-%03d' % ('a', 7) == 'a-007'") == [True] * 3
    assert evaluate("len(tags + tags) == 2 * len(tags)") == [True] * 3
    assert evaluate("round(n / 3, 2) == 1.0") == [True, False, False]
    assert evaluate("text.strip('hlo') == 'e'") == [True, False, False]
    assert evaluate("n * 1000 // 7 > 400") == [True, False, True]
    assert evaluate("1 / 0 == 1 if n > 100 else True") == [True] * 3  # a constant error stays per row


def test_the_batch_budget_counts_what_rows_build_together(monkeypatch):
    monkeypatch.setattr(limits, "MAX_BATCH_BUILT", 50_000)
    condition = compile_condition("len(text * 20) > 0", ["text"])
    assert condition({"text": ["x" * 100] * 20}, 20) == [True] * 20  # 38,000 built
    with pytest.raises(BatchLimitError) as info:
        condition({"text": ["x" * 100] * 40}, 40)  # 76,000 built
    assert "for one batch of rows" in str(info.value)
    assert expression.explain_row_error(condition, {"text": ["x"] * 40}, 40, range(100, 140)).startswith(
        "rows 100 to 139: the expression builds more than"
    )


def test_copying_the_batch_itself_is_always_allowed(monkeypatch):
    monkeypatch.setattr(limits, "MAX_BATCH_BUILT", 1_000)
    condition = compile_condition("len(a + ' ' + b) > 5", ["a", "b"])
    rows = 50
    assert condition({"a": ["p" * 400] * rows, "b": ["r" * 400] * rows}, rows) == [True] * rows


def test_short_circuit_rows_build_nothing(monkeypatch):
    # The fast path evaluates every row; rows the `and` excludes must not spend the budget.
    monkeypatch.setattr(limits, "MAX_BATCH_BUILT", 100_000)
    condition = compile_condition("len(text) < 10 and len(text * 1_000) > 0", ["text"])
    batch = {"text": ["x" * 5] * 10 + ["y" * 9_000] * 10}
    assert condition(batch, 20) == [True] * 10 + [False] * 10


def test_a_row_over_the_limit_is_named_in_the_job_error(jobs):
    jobs.write_jsonl("t.jsonl", [{"t": "short"}, {"t": "x" * 20_000}])
    ref = jobs.run("load", loader="json", data_files="t.jsonl")
    start = time.monotonic()
    message = jobs.fail("filter", dataset=ref, condition="len(t * 1000) > 5")
    assert time.monotonic() - start < 5
    assert "failed on row 1 (t='xxxx" in message
    assert "the expression builds a string of 20,000,000 characters; the limit is 10,000,000 at column 5" in message


@pytest.mark.parametrize(
    "source, column",
    [
        ("not " * 150 + "n", 401),
        ("abs(" * 150 + "n" + ")" * 150, 401),
        ("n" + " + 1" * 150, None),
        ("text" + "[0]" * 150, None),
        ("-" * 5_000 + "n", 101),  # past what Python's parser can take
        ("not " * 5_000 + "n", 401),
        ("n if n else " * 3_000 + "n", 1),
    ],
)
def test_deep_nesting_is_refused_with_its_place(source, column):
    start = time.monotonic()
    with pytest.raises(ExpressionError) as info:
        compile_condition(source, COLUMNS)
    assert time.monotonic() - start < 5
    text = str(info.value)
    assert text.startswith("the expression nests more than 100 levels deep at column ")
    if column is not None:
        assert text.startswith(f"the expression nests more than 100 levels deep at column {column}\n")
    line, caret = text.splitlines()[1:3]
    assert len(line) < 130 and caret.strip() == "^"  # a window around the spot, not the whole source


def test_the_nesting_error_reaches_the_job(jobs):
    jobs.write_jsonl("t.jsonl", [{"input": "a"}])
    ref = jobs.run("load", loader="json", data_files="t.jsonl")
    message = jobs.fail("filter", dataset=ref, condition="not " * 120 + "input")
    assert message.startswith("filter condition: the expression nests more than 100 levels deep at column 401")


def test_nesting_up_to_the_limit_works():
    assert evaluate("not " * 98 + "n > 0") == [True, False, True]


def test_a_source_over_the_length_limit_is_refused():
    with pytest.raises(ExpressionError, match="the condition is 120,001 characters long; the limit is 100,000"):
        compile_condition("n + " * 30_000 + "n", COLUMNS)


def test_small_numbers_keep_the_fast_path():
    plain = guards.plain_numbers(guards.operator.mul)
    assert plain([1, 2.5, True, -3])
    assert not plain([1, "2"])
    assert not plain([2**6000])
    assert not plain([float("nan"), 2**6000])
    assert guards.plain_numbers(guards.operator.add)([2**6000])


def test_printf_bound_is_never_below_what_python_writes():
    alphabet = list("%%%()*.-+ #0123456789sdrafxcieEgGbhlLk") + ["%(k)", "%(a(b))", "%*", "%.*"]
    arguments = [
        (),
        (5,),
        (3, "xy"),
        (2, 7, 1.5, "é"),
        {"k": "hello", "a(b)": 12},
        "abc",
        42,
        [1, 2],
        1e300,
        (10, 2**70, -3, "q"),
        b"zz",
        (b"ab", 3),
    ]
    rng = random.Random(7)
    checked = 0
    for _ in range(20_000):
        fmt = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        for args in rng.sample(arguments, 2):
            for form in (fmt, fmt.encode("latin-1")):
                try:
                    written = form % args
                except Exception:  # noqa: BLE001 - only formats Python accepts are compared
                    continue
                checked += 1
                assert printf_bound(form, args) >= len(written), (form, args)
    assert checked > 5_000
