"""concat, select, filter and map on materialized data sets, checked row by row."""

from __future__ import annotations

import pytest


@pytest.fixture
def alpaca(jobs, alpaca_rows):
    rows = alpaca_rows(30)
    jobs.write_jsonl("alpaca.jsonl", rows)
    return rows, jobs.run("load", loader="json", data_files="alpaca.jsonl")


def test_concat_vertical_keeps_order(jobs, alpaca_rows):
    a, b = alpaca_rows(3), alpaca_rows(4, start=100)
    jobs.write_jsonl("a.jsonl", a)
    jobs.write_csv("b.csv", b)  # CSV text is large_string in Arrow: same column type to us
    ra = jobs.run("load", loader="json", data_files="a.jsonl")
    rb = jobs.run("load", loader="csv", data_files="b.csv")
    out = jobs.run("concat", datasets=[ra, rb])
    assert jobs.rows(out) == a + [{**r, "input": r["input"] or None} for r in b]
    assert out["num_rows"] == 7


def test_concat_vertical_column_mismatch_names_columns(jobs):
    jobs.write_jsonl("a.jsonl", [{"text": "a", "label": 1}])
    jobs.write_jsonl("b.jsonl", [{"text": "b", "tag": 1}])
    jobs.write_jsonl("c.jsonl", [{"text": "c", "label": "one"}])
    ra, rb, rc = (jobs.run("load", loader="json", data_files=f"{n}.jsonl") for n in "abc")
    message = jobs.fail("concat", datasets=[ra, rb])
    assert "only datasets[0] has label" in message and "only datasets[1] has tag" in message
    message = jobs.fail("concat", datasets=[ra, rc])
    assert "column 'label' is int64 in datasets[0] and string in datasets[1]" in message


def test_concat_horizontal(jobs):
    jobs.write_jsonl("a.jsonl", [{"q": "a"}, {"q": "b"}])
    jobs.write_jsonl("b.jsonl", [{"r": 1}, {"r": 2}])
    jobs.write_jsonl("c.jsonl", [{"r": 1}])
    ra, rb, rc = (jobs.run("load", loader="json", data_files=f"{n}.jsonl") for n in "abc")
    assert jobs.rows(jobs.run("concat", datasets=[ra, rb], direction="horizontal")) == [
        {"q": "a", "r": 1},
        {"q": "b", "r": 2},
    ]
    message = jobs.fail("concat", datasets=[ra, rc], direction="horizontal")
    assert "datasets[0] has 2, datasets[1] has 1" in message
    message = jobs.fail("concat", datasets=[rb, rb], direction="horizontal")
    assert "column 'r' is in datasets[0] and datasets[1]" in message


def test_concat_rejects_a_value_that_is_not_a_dataset(jobs, alpaca):
    _, ref = alpaca
    assert "datasets[1] is not a data set" in jobs.fail("concat", datasets=[ref, "tatsu-lab/alpaca"])


def test_select_rows_in_given_order_with_negative_indices(jobs, alpaca):
    rows, ref = alpaca
    out = jobs.run("select", dataset=ref, axis="rows", indices=[4, 0, -1, 4])
    assert jobs.rows(out) == [rows[4], rows[0], rows[-1], rows[4]]
    head = jobs.run("select", dataset=ref, axis="rows", indices=[0, 1, 2, 3, 4])
    assert jobs.rows(head) == rows[:5]


def test_select_rows_out_of_range_names_index_and_count(jobs, alpaca):
    _, ref = alpaca
    message = jobs.fail("select", dataset=ref, axis="rows", indices=[0, 30])
    assert "indices[1] is 30, outside the data set's 30 rows" in message
    assert "indices[0] is -31" in jobs.fail("select", dataset=ref, axis="rows", indices=[-31])


def test_select_columns(jobs, alpaca):
    rows, ref = alpaca
    out = jobs.run("select", dataset=ref, axis="columns", columns=["output", "instruction"])
    assert jobs.rows(out) == [{"output": r["output"], "instruction": r["instruction"]} for r in rows]
    assert list(out["columns"]) == ["output", "instruction"]
    message = jobs.fail("select", dataset=ref, axis="columns", columns=["instruction", "ouput"])
    assert "no column 'ouput'" in message and "instruction, input, output" in message


def test_filter_condition_matches_python(jobs, alpaca):
    rows, ref = alpaca
    out = jobs.run("filter", dataset=ref, condition='len(output) > 20 and input == ""')
    expected = [r for r in rows if len(r["output"]) > 20 and r["input"] == ""]
    assert expected and jobs.rows(out) == expected


@pytest.mark.parametrize(
    "condition, predicate",
    [
        ('input != "" or output.endswith("xx")', lambda r: r["input"] != "" or r["output"].endswith("xx")),
        ("not input", lambda r: not r["input"]),
        ('"task 1" in instruction', lambda r: "task 1" in r["instruction"]),
        ('instruction in ["task 3", "task 7"]', lambda r: r["instruction"] in ["task 3", "task 7"]),
        ("10 <= len(output) < 20", lambda r: 10 <= len(r["output"]) < 20),
        ("int(instruction[5:]) % 4 == 1", lambda r: int(r["instruction"][5:]) % 4 == 1),
        ('upper(instruction).startswith("TASK 2")', lambda r: r["instruction"].upper().startswith("TASK 2")),
        (
            'contains(input, "1") and max(len(input), 3) > 9',
            lambda r: "1" in r["input"] and max(len(r["input"]), 3) > 9,
        ),
        ("len(output) if input else 0 > 5", lambda r: len(r["output"]) if r["input"] else 0 > 5),
        ("abs(len(output) - 30) < 3", lambda r: abs(len(r["output"]) - 30) < 3),
    ],
)
def test_filter_expressions(jobs, alpaca, condition, predicate):
    rows, ref = alpaca
    assert jobs.rows(jobs.run("filter", dataset=ref, condition=condition)) == [r for r in rows if predicate(r)]


def test_filter_short_circuits_per_row(jobs):
    jobs.write_jsonl("n.jsonl", [{"t": None}, {"t": "long text"}, {"t": "ab"}])
    ref = jobs.run("load", loader="json", data_files="n.jsonl")
    assert jobs.rows(jobs.run("filter", dataset=ref, condition="t is not None and len(t) > 3")) == [{"t": "long text"}]


def test_filter_row_error_names_the_row(jobs):
    jobs.write_jsonl("n.jsonl", [{"t": "abc"}, {"t": None}])
    ref = jobs.run("load", loader="json", data_files="n.jsonl")
    message = jobs.fail("filter", dataset=ref, condition="len(t) > 1")
    assert "failed on row 1 (t=None): TypeError" in message


def test_filter_syntax_error_points_at_the_column(jobs, alpaca):
    _, ref = alpaca
    message = jobs.fail("filter", dataset=ref, condition="len(output) > > 3")
    assert "syntax error" in message and "at column 15" in message
    assert "len(output) > > 3\n" + " " * 16 + "^" in message


def test_filter_unknown_name_lists_columns(jobs, alpaca):
    _, ref = alpaca
    message = jobs.fail("filter", dataset=ref, condition="len(outptu) > 3")
    assert "unknown column 'outptu' (did you mean 'output'?)" in message
    assert "the columns are: instruction, input, output" in message


def test_filter_where_tree(jobs, alpaca):
    rows, ref = alpaca
    where = {
        "all": [
            {"column": "input", "operator": "neq", "value": ""},
            {
                "any": [
                    {"column": "output", "operator": "match", "value": "x{5}$"},
                    {"column": "instruction", "operator": "in", "value": ["task 1", "task 2"]},
                ]
            },
            {"not": {"column": "instruction", "operator": "ends-with", "value": "7"}},
        ]
    }
    out = jobs.run("filter", dataset=ref, where=where)

    def keep(r):
        import re

        return (
            r["input"] != ""
            and (re.search("x{5}$", r["output"]) is not None or r["instruction"] in ["task 1", "task 2"])
            and not r["instruction"].endswith("7")
        )

    expected = [r for r in rows if keep(r)]
    assert expected and jobs.rows(out) == expected


@pytest.mark.parametrize(
    "op, value, predicate",
    [
        ("eq", "", lambda r: r["input"] == ""),
        ("gt", "context 2", lambda r: r["input"] > "context 2"),
        ("gte", "context 2", lambda r: r["input"] >= "context 2"),
        ("lt", "context 2", lambda r: r["input"] < "context 2"),
        ("lte", "context 20", lambda r: r["input"] <= "context 20"),
        ("not-in", ["", "context 1"], lambda r: r["input"] not in ["", "context 1"]),
        ("starts-with", "context 1", lambda r: r["input"].startswith("context 1")),
    ],
)
def test_where_operators(jobs, alpaca, op, value, predicate):
    rows, ref = alpaca
    out = jobs.run("filter", dataset=ref, where={"column": "input", "operator": op, "value": value})
    assert jobs.rows(out) == [r for r in rows if predicate(r)]


def test_where_errors(jobs, alpaca):
    _, ref = alpaca
    message = jobs.fail("filter", dataset=ref, where={"column": "inptu", "operator": "eq", "value": ""})
    assert "unknown column 'inptu'" in message and "instruction, input, output" in message
    message = jobs.fail("filter", dataset=ref, where={"column": "input", "operator": "match", "value": "("})
    assert "invalid regular expression" in message
    assert "not both" in jobs.fail(
        "filter", dataset=ref, condition="True", where={"column": "input", "operator": "eq", "value": ""}
    )
    assert "needs a condition" in jobs.fail("filter", dataset=ref)


def test_map_template(jobs, alpaca):
    rows, ref = alpaca
    template = "### Instruction:\n{instruction}\n### Input: {input}\n{{literal}} {output}"
    out = jobs.run("map", dataset=ref, template=template)
    assert jobs.rows(out) == [
        {**r, "text": f"### Instruction:\n{r['instruction']}\n### Input: {r['input']}\n{{literal}} {r['output']}"}
        for r in rows
    ]
    assert out["sft_format"] == "instruction"  # still has instruction/output


def test_map_output_column_and_remove_columns(jobs, alpaca):
    rows, ref = alpaca
    out = jobs.run(
        "map",
        dataset=ref,
        template="{instruction} {input}",
        output_column="prompt",
        remove_columns=["instruction", "input"],
    )
    assert jobs.rows(out) == [{"output": r["output"], "prompt": f"{r['instruction']} {r['input']}"} for r in rows]


def test_map_missing_value_renders_empty_and_numbers_as_text(jobs):
    jobs.write_jsonl("n.jsonl", [{"a": None, "n": 1.5}, {"a": "x", "n": 2.0}])
    ref = jobs.run("load", loader="json", data_files="n.jsonl")
    assert [r["text"] for r in jobs.rows(jobs.run("map", dataset=ref, template="[{a}] {n}"))] == ["[] 1.5", "[x] 2.0"]


def test_map_template_errors(jobs, alpaca):
    _, ref = alpaca
    message = jobs.fail("map", dataset=ref, template="{instruction} {ouput}")
    assert "{ouput} names no column (did you mean 'output'?)" in message
    assert "instruction, input, output" in message
    assert "'{' is never closed" in jobs.fail("map", dataset=ref, template="abc {instruction")
    assert "'}' without an opening" in jobs.fail("map", dataset=ref, template="abc } x")
    assert "remove_columns: no column 'nope'" in jobs.fail(
        "map", dataset=ref, template="{input}", remove_columns=["nope"]
    )
    assert "map needs a template" in jobs.fail("map", dataset=ref)


def test_operation_without_its_input(jobs):
    assert "needs dataset" in jobs.fail("filter", condition="True")
    assert "needs datasets" in jobs.fail("concat")


def test_map_text_columns_with_nulls_replacing_a_column(jobs):
    # All-text templates render with Arrow kernels; the result must equal the Python rendering.
    jobs.write_jsonl("n.jsonl", [{"a": None, "b": "x", "c": "keep"}, {"a": "y", "b": "%s {z}", "c": "k2"}])
    ref = jobs.run("load", loader="json", data_files="n.jsonl")
    out = jobs.run("map", dataset=ref, template="[{a}|{b}] {{b}} 100%", output_column="c", remove_columns=["b"])
    assert jobs.rows(out) == [{"a": None, "c": "[|x] {b} 100%"}, {"a": "y", "c": "[y|%s {z}] {b} 100%"}]
    assert out["columns"] == {"a": "string", "c": "string"}
    from runner.dataset_prep import load_reference

    assert load_reference(out, str(jobs.storage)).format["type"] is None


def test_map_template_without_placeholders(jobs):
    jobs.write_jsonl("n.jsonl", [{"a": "x"}, {"a": "y"}])
    ref = jobs.run("load", loader="json", data_files="n.jsonl")
    out = jobs.run("map", dataset=ref, template="same {{for}} all", remove_columns=["a"])
    assert jobs.rows(out) == [{"text": "same {for} all"}, {"text": "same {for} all"}]


def test_where_tree_as_the_engine_dumps_it(jobs, alpaca):
    # The engine sends model_dump(mode="json") of the operation: ``not`` arrives as ``not_``.
    from compose.schema.components import DatasetsFilter

    rows, ref = alpaca
    config = DatasetsFilter(id="ops", dataset=ref, where={"not": {"column": "input", "operator": "eq", "value": ""}})
    dumped = config.model_dump(mode="json")
    for key in ("id", "method"):
        dumped.pop(key)
    out = jobs.run("filter", **dumped)
    assert jobs.rows(out) == [r for r in rows if r["input"] != ""]
