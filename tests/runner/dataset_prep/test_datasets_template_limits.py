"""A map template cannot multiply a row's text past the limits, in Python or on Arrow."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

from compose.jobspec import JobFailed
from runner.dataset_prep import template as template_module
from runner.dataset_prep.template import TemplateError, parse_template, render_arrow


def test_a_row_past_the_limit_is_refused_before_rendering():
    template = parse_template("{t}" * 20_000)  # 60,000 characters of template
    batch = {"t": ["short", "x" * 600]}
    with pytest.raises(
        JobFailed, match="map template: a row would be a string of 12,000,000 characters; the limit is 10,000,000"
    ):
        template.render(batch, 2)
    with pytest.raises(JobFailed, match="a row would be a string of 12,000,000 characters"):
        render_arrow(template, {"t": pa.array(batch["t"])})


def test_the_batch_budget_counts_literals_and_repeated_columns(monkeypatch):
    monkeypatch.setattr(template_module, "MAX_BATCH_BUILT", 8_000)
    repeated = parse_template("{t} {t} {t}")  # 2 literal characters and 2 extra copies of t a row
    assert len(repeated.render({"t": ["y" * 100] * 39}, 39)) == 39  # 7,878 built
    batch = {"t": ["y" * 100] * 40}
    with pytest.raises(
        JobFailed,
        match="map template: 40 rows would build 8,080 characters beyond their "
        "own values; the limit for a batch is 8,000",
    ):
        repeated.render(batch, 40)
    with pytest.raises(JobFailed, match="40 rows would build 8,080 characters"):
        render_arrow(repeated, {"t": pa.array(batch["t"], pa.large_string())})


def test_each_column_once_is_free_however_long(monkeypatch):
    monkeypatch.setattr(template_module, "MAX_BATCH_BUILT", 1_000)
    template = parse_template("Q: {q}\nA: {a}")
    batch = {"q": ["q" * 5_000] * 20, "a": [None, *(["a" * 5_000] * 19)]}
    assert template.render(batch, 20)[0] == "Q: " + "q" * 5_000 + "\nA: "
    arrow = render_arrow(template, {name: pa.array(values) for name, values in batch.items()})
    assert arrow.to_pylist() == template.render(batch, 20)


def test_numbers_and_other_values_render_as_before():
    template = parse_template("{n}|{x}|{b}|{l}|{s}")
    batch = {"n": [1, None], "x": [1.5, 2.0], "b": [True, False], "l": [[1, "a"], []], "s": ["%s", "100%"]}
    assert template.render(batch, 2) == ["1|1.5|True|[1, 'a']|%s", "|2.0|False|[]|100%"]


def test_a_template_over_the_length_limit_is_refused():
    with pytest.raises(TemplateError, match="template is 100,001 characters long; the limit is 100,000"):
        parse_template("x" * 100_001)


def test_the_job_reports_the_limit(jobs):
    jobs.write_jsonl("t.jsonl", [{"t": "x" * 1_000}])
    ref = jobs.run("load", loader="json", data_files="t.jsonl")
    start = time.monotonic()
    message = jobs.fail("map", dataset=ref, template="{t}" * 11_000)
    assert time.monotonic() - start < 5
    assert message == "map template: a row would be a string of 11,000,000 characters; the limit is 10,000,000"
