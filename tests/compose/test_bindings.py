"""The ${...} engine: grammar, typing, whole vs embedded values, errors (SPEC §3)."""

import doctest

import pytest

import compose.bindings
from compose.bindings import (
    BindingContext,
    BindingError,
    SelectHint,
    SliderHint,
    contains_binding,
    convert,
    find_bindings,
    parse_binding,
    resolve,
)

DATASET = {
    "type": "dataset",
    "fingerprint": "ab" * 10,
    "path": "datasets/abab",
    "num_rows": 12,
    "columns": {"instruction": "string", "output": "string"},
    "preview": [{"instruction": "hi", "output": "hello"}],
}


@pytest.fixture
def ctx():
    return BindingContext(
        inputs={"dataset": "tatsu-lab/alpaca", "n": 3, "lr": "5e-5", "flag": "yes", "cols": ["a", "b", "c"]},
        jobs={"load": DATASET, "load-first": {"items": [1, 2, 3]}},
        env={"HF_TOKEN": "hf_secret"},
    )


def test_docstring_examples_hold():
    assert doctest.testmod(compose.bindings).failed == 0


def test_whole_value_is_native_and_embedded_is_text(ctx):
    assert resolve("${jobs.load.output}", ctx) == DATASET
    assert resolve("rows=${jobs.load.output.num_rows}", ctx) == "rows=12"
    assert resolve("${jobs.load.output.num_rows}", ctx) == 12
    assert resolve("data: ${jobs.load.output}", ctx).startswith('data: {"type": "dataset"')
    assert resolve("${input.cols}", ctx) == ["a", "b", "c"]


def test_paths_index_negative_index_dash_keys_and_quoted_keys(ctx):
    assert resolve("${jobs.load-first.output.items[-1]}", ctx) == 3
    assert resolve("${jobs.load-first.output.items[0]}", ctx) == 1
    assert resolve("${jobs.load.output.preview[0].output}", ctx) == "hello"
    assert resolve('${jobs.load.output.columns["instruction"]}', ctx) == "string"
    assert resolve("${input.cols[1]}", ctx) == "b"


def test_yaml_numbers_as_strings_take_the_field_type(ctx):
    # PyYAML reads 5e-5 as a string; a number field or `as number` makes it a float.
    assert resolve("${input.lr}", ctx, field_type="number") == pytest.approx(5e-5)
    assert resolve("${input.lr as number}", ctx) == pytest.approx(5e-5)
    assert resolve("${input.missing | 5e-5}", ctx, field_type="number") == pytest.approx(5e-5)
    assert resolve("${input.missing | 5e-5}", ctx) == "5e-5"  # untyped, unknown field: text
    assert resolve("${input.flag as boolean}", ctx) is True


def test_untyped_default_takes_the_field_type(ctx):
    assert resolve("${input.fraction | 0.5}", ctx, field_type="number") == 0.5
    assert resolve("${input.epochs | 3}", ctx, field_type="integer") == 3
    assert resolve("${input.shuffle | true}", ctx, field_type="boolean") is True
    assert resolve("${input.idx | [0, 1, 2]}", ctx, field_type="json") == [0, 1, 2]
    assert resolve("${input.cols2 | [a, b]}", ctx, field_type="json") == ["a", "b"]
    # an explicit type wins over the field type
    assert resolve("${input.x as text | 3}", ctx, field_type="integer") == "3"


def test_default_with_spaces_slash_and_braces(ctx):
    assert resolve("${input.other   |   tatsu-lab/alpaca  }", ctx) == "tatsu-lab/alpaca"
    assert resolve("${input.t | {instruction}: {output}}", ctx) == "{instruction}: {output}"
    assert resolve("${input.t | two words here}", ctx) == "two words here"


def test_quoted_default_drops_quotes_and_keeps_bars_and_braces(ctx):
    assert resolve('${input.sep | "a | b"}', ctx) == "a | b"
    assert resolve("${input.sep | 'x}y'}", ctx) == "x}y"
    assert resolve('${input.sep | "${input.n}"}', ctx) == "${input.n}"  # quoted: literal


def test_nested_default_is_resolved_natively(ctx):
    assert resolve("${input.missing | ${input.n}}", ctx) == 3
    assert resolve("${input.a | ${input.b | ${jobs.load.output}}}", ctx) == DATASET
    assert resolve("${input.a | ${input.b | 7}}", ctx, field_type="integer") == 7
    assert resolve("${input.a | prefix-${input.n}}", ctx) == "prefix-3"


def test_present_input_wins_over_default(ctx):
    assert resolve("${input.dataset | other/set}", ctx) == "tatsu-lab/alpaca"


def test_missing_input_without_default_names_it(ctx):
    with pytest.raises(BindingError, match=r"input `template` is missing"):
        resolve("${input.template}", ctx)
    with pytest.raises(BindingError, match=r"\$\{input.template\}"):
        resolve("prefix ${input.template}", ctx)


def test_env_is_read_recorded_and_missing_env_handled(ctx):
    assert resolve("${env.HF_TOKEN}", ctx) == "hf_secret"
    assert ctx.env_used == {"HF_TOKEN": "hf_secret"}
    # whole value: an unset variable leaves the field empty (a public data set needs no token)
    assert resolve("${env.NOPE}", ctx) is None
    assert "NOPE" in ctx.notes[0]
    assert resolve("${env.NOPE | fallback}", ctx) == "fallback"
    with pytest.raises(BindingError, match="environment variable NOPE is not set"):
        resolve("Bearer ${env.NOPE}", ctx)


def test_job_outputs(ctx):
    with pytest.raises(BindingError, match="job `train` has no output yet"):
        resolve("${jobs.train.output}", ctx)
    with pytest.raises(BindingError, match="no key 'rows'.*num_rows"):
        resolve("${jobs.load.output.rows}", ctx)
    with pytest.raises(BindingError, match="index 5 is out of range"):
        resolve("${jobs.load-first.output.items[5]}", ctx)


def test_output_and_item_sources():
    ctx = BindingContext(output={"output_dir": "/x", "global_step": 4}, item={"q": "hi"})
    assert resolve("${output}", ctx) == {"output_dir": "/x", "global_step": 4}
    assert resolve("${result.global_step}", ctx) == 4
    assert resolve("${item.q}!", ctx) == "hi!"
    with pytest.raises(BindingError, match="only available in a job's output"):
        resolve("${output}", BindingContext())


def test_single_pass_never_re_expands_inserted_text():
    ctx = BindingContext(inputs={"a": "${input.b}", "b": "boom"})
    assert resolve("${input.a}", ctx) == "${input.b}"
    assert resolve("x ${input.a} y", ctx) == "x ${input.b} y"


def test_escape_writes_a_literal_dollar_brace():
    ctx = BindingContext(inputs={"n": 1})
    assert resolve("$${input.n}", ctx) == "${input.n}"
    assert resolve("cost $5 and ${input.n}", ctx) == "cost $5 and 1"
    assert not contains_binding("$${input.n}")
    assert find_bindings("$${input.n}") == []


def test_containers_are_walked():
    ctx = BindingContext(inputs={"a": 1}, jobs={"x": "X", "y": "Y"})
    assert resolve({"k": ["${jobs.x.output}", "${jobs.y.output}"], "n": "${input.a}"}, ctx) == {"k": ["X", "Y"], "n": 1}
    assert contains_binding({"k": ["plain", "${input.a}"]})
    assert not contains_binding({"k": ["plain", 3, None]})


def test_find_bindings_reports_parts_and_positions():
    text = "lr=${input.lr as number | 5e-5} ${jobs.load.output.columns[-1]}"
    first, second = find_bindings(text)
    assert (first.source, first.name, first.type, first.default) == ("input", "lr", "number", "5e-5")
    assert text[first.start : first.end] == first.raw == "${input.lr as number | 5e-5}"
    assert (second.source, second.job, second.path) == ("jobs", "load", ("columns", -1))
    assert text[second.start : second.end] == second.raw


def test_find_bindings_includes_bindings_in_defaults():
    found = find_bindings("${input.a | ${input.b | 3}}")
    assert [(b.name, b.default) for b in found] == [("a", "${input.b | 3}"), ("b", "3")]
    assert found[1].raw == "${input.b | 3}"


def test_ui_hints():
    (select,) = find_bindings("${input.optim as select/adamw_torch, sgd ,adafactor | sgd}")
    assert select.type is None and select.hint == SelectHint(("adamw_torch", "sgd", "adafactor"))
    assert select.default == "sgd"
    (slider,) = find_bindings("${input.lr as slider/0.00001,0.001,0.00001}")
    assert slider.type == "number" and slider.hint == SliderHint(0.00001, 0.001, 0.00001)
    (steps,) = find_bindings("${input.steps as slider/1,100}")
    assert steps.type == "integer" and steps.hint == SliderHint(1, 100, None)
    ctx = BindingContext(inputs={"steps": "40", "bs": "16"})
    assert resolve("${input.steps as slider/1,100}", ctx) == 40
    # select options take the type of the field they fill
    assert resolve("${input.bs as select/8,16,32 | 8}", ctx, field_type="integer") == 16
    assert resolve("${input.nope as select/8,16,32 | 8}", ctx, field_type="integer") == 8
    assert resolve("${input.bs as select/8,16,32}", ctx) == "16"


@pytest.mark.parametrize(
    "text, message",
    [
        ("${inputs.x}", "unknown source 'inputs'"),
        ("${input}", "name the input value"),
        ("${jobs.load}", r"\$\{jobs.<job-id>.output"),
        ("${input.x as float64}", "unknown type 'float64'"),
        ("${input.x as select}", "select needs its options"),
        ("${input.x as slider/5,1}", "min < max"),
        ("${input.x", "no closing }"),
        ("${input.x | 'open}", "no closing '"),
        ("${input.x[abc]}", r"\[abc\] is not an index"),
        ("${input.x y}", "unexpected"),
    ],
)
def test_malformed_bindings_are_errors(text, message):
    with pytest.raises(BindingError, match=message):
        find_bindings(text)


def test_type_aliases_and_conversions():
    assert find_bindings("${input.x as int}")[0].type == "integer"
    assert convert("4.0", "integer") == 4
    assert convert("", "number") is None
    assert convert(3, "text") == "3"
    with pytest.raises(BindingError, match="not a whole number"):
        convert("4.5", "integer")
    with pytest.raises(BindingError, match="expected true or false"):
        convert("maybe", "boolean")


def test_parse_binding_whole_only():
    assert parse_binding("  ${input.a}  ").name == "a"
    assert parse_binding("x ${input.a}") is None
    assert parse_binding("plain") is None
