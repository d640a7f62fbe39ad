"""Conditions run on Arrow kernels only where the answer is Python's, value for value."""

from __future__ import annotations

import pyarrow as pa
import pytest

from runner.dataset_prep.arrow_condition import compile_arrow
from runner.dataset_prep.expression import compile_condition

ROWS = {
    "text": ["Hello", "", "héllo wörld", "Zebra", "a" * 30, "ß", "needle in hay"],
    "n": [3, -2, 10, 0, 7, 2**40, 5],
    "x": [0.5, 2.0, -1.25, 3.0, 7.0, 1e300, 5.0],
    "flag": [True, False, True, False, True, False, True],
}
KINDS = {"text": "str", "n": "num", "x": "num", "flag": "bool"}


@pytest.mark.parametrize(
    "source",
    [
        'len(text) > 4 and text != ""',
        'text < "a"',
        '"é" in text or "needle" in text',
        'text in ["Hello", "ß"]',
        'text not in ("", "Zebra")',
        "n * 3 - 1 >= 8",
        "-n < 0",
        "0 <= n < 8",
        "x > n",
        "n in [3, 10]",
        "flag == True or not flag and n > 2",
        'text.startswith("h") or text.endswith("a")',
        'contains(text, "ll")',
        "len(text) == 1",
    ],
)
def test_same_answer_as_python(source):
    arrow = compile_arrow(source, KINDS)
    assert arrow is not None, "expected an Arrow plan"
    python = compile_condition(source, list(ROWS))
    n = len(ROWS["text"])
    assert arrow(pa.table(ROWS)).to_pylist() == [bool(v) for v in python(ROWS, n)]


@pytest.mark.parametrize(
    "source",
    [
        "lower(text) == 'hello'",  # Unicode case mapping differs in details
        "text.strip() == ''",
        "n / 2 > 1",  # integer division in Arrow
        "n % 2 == 0",
        "text",  # truthiness of text
        "len(text)",  # not a condition
        "text == 3",  # text against a number: Python says False, Arrow would refuse
        "True",
        "text + 'x' == 'ax'",
    ],
)
def test_left_to_python(source):
    assert compile_arrow(source, KINDS) is None


def test_overflow_falls_back_to_python(jobs):
    # Python integers do not overflow; the job must answer as Python does.
    jobs.write_jsonl("n.jsonl", [{"n": 2**62}, {"n": 1}])
    ref = jobs.run("load", loader="json", data_files="n.jsonl")
    assert jobs.rows(jobs.run("filter", dataset=ref, condition="n * 4 > 10")) == [{"n": 2**62}]


def test_batches_with_nulls_use_python(jobs, monkeypatch):
    # 2,500 rows in chunks of 1,000: the chunk holding the null runs in Python, the others on Arrow.
    from runner.dataset_prep import ops

    monkeypatch.setattr(ops, "FILTER_CHUNK_ROWS", 1000)
    rows = [{"t": f"row {i}" if i != 1500 else None, "n": i} for i in range(2500)]
    jobs.write_jsonl("n.jsonl", rows)
    ref = jobs.run("load", loader="json", data_files="n.jsonl")
    out = jobs.run("filter", dataset=ref, condition='t != "row 7" and n % 1000 < 3 or t == None')
    expected = [r for r in rows if (r["t"] != "row 7" and r["n"] % 1000 < 3) or r["t"] is None]
    assert jobs.rows(out) == expected
    out = jobs.run("filter", dataset=ref, condition='t != "row 7" and n < 3')
    assert jobs.rows(out) == [r for r in rows if r["t"] != "row 7" and r["n"] < 3]
    out = jobs.run("filter", dataset=ref, condition='t != "row 5"')
    assert jobs.rows(out) == [r for r in rows if r["t"] != "row 5"]  # the null row stays, as in Python
