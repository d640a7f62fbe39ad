"""The grid of a sweep, without a database: splitting values, the cartesian product, the cap."""

from __future__ import annotations

import doctest

import pytest

import compose.sweep
from compose.inputs import InputSpec
from compose.sweep import MAX_TEXT, SweepError, grid, grid_size, split_values, sweep_values

SPECS = [
    InputSpec("learning_rate", "number", default=5e-5, required=False),
    InputSpec("lora_r", "integer", default=8, required=False),
    InputSpec("indices", "json", default=[0], required=False),
    InputSpec("note", "text", default="x", required=False),
]


def test_docstring_examples_hold():
    assert doctest.testmod(compose.sweep).failed == 0


def test_a_2x2_grid_is_every_combination_the_last_input_fastest():
    assert grid({"learning_rate": [1e-4, 5e-5], "lora_r": [8, 16]}) == [
        {"learning_rate": 1e-4, "lora_r": 8},
        {"learning_rate": 1e-4, "lora_r": 16},
        {"learning_rate": 5e-5, "lora_r": 8},
        {"learning_rate": 5e-5, "lora_r": 16},
    ]
    assert grid({}) == [{}] and grid_size([3, 2, 2]) == 12


def test_values_are_split_at_commas_or_read_as_a_json_list():
    assert split_values(" 1e-4, 5e-5 ,2e-5, ", "number") == ["1e-4", "5e-5", "2e-5"]
    assert split_values('["a, b", "c"]', "text") == ["a, b", "c"]
    assert split_values("[[0, 1], [2]]", "json") == [[0, 1], [2]]
    for bad in ("0, 1", '{"a": 1}', "[" * 50_000 + "]" * 50_000, "[1e400]", "[NaN]", "[Infinity]"):
        with pytest.raises(ValueError, match="JSON list"):
            split_values(bad, "json")
    with pytest.raises(ValueError, match="characters long"):
        split_values("1," * MAX_TEXT, "number")


def test_each_value_is_checked_as_a_single_one_and_named():
    with pytest.raises(SweepError) as caught:
        sweep_values(SPECS, {}, {"learning_rate": "1e-4, fast, 2e-5", "lora_r": "8, 8.5"}, 32)
    messages = {p.path: p.message for p in caught.value.problems}
    assert "'fast' is not a number" in messages["inputs.learning_rate"]
    assert "'8.5' is not a whole number" in messages["inputs.lora_r"]


def test_checked_values_come_back_as_given():
    lists = sweep_values(SPECS, {}, {"learning_rate": "1e-4, 5e-5", "indices": [[0], [1, 2]]}, 32)
    assert lists == {"learning_rate": ["1e-4", "5e-5"], "indices": [[0], [1, 2]]}


def test_a_grid_over_the_cap_is_refused_with_its_size_beside_each_swept_input():
    with pytest.raises(SweepError) as caught:
        sweep_values(SPECS, {}, {"learning_rate": "1,2,3,4,5,6", "lora_r": "1,2,3,4,5,6,7,8"}, 32)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("inputs.learning_rate", "this sweep makes 48 runs; the most is 32"),
        ("inputs.lora_r", "this sweep makes 48 runs; the most is 32"),
    ]


@pytest.mark.parametrize(
    ("swept", "says"),
    [
        ({"lora_r": ",,,,"}, "no values between the commas"),
        ({"lora_r": "8, 16, 8.0"}, "8 is given twice"),
        ({"lora_r": "1," * 5000}, "5,000 values"),
        ({"lora_r": [None, 8]}, "an empty value"),
        ({"lora_r": {"a": 1}}, "as a list"),
        ({"learning_rate": [float("inf")]}, "not a number a run can take"),
        ({"nope": "1, 2"}, "unknown input `nope`"),
        ({"indices": "[[[[1]]]], {}"}, "JSON list"),
    ],
)
def test_hostile_or_odd_values_are_refused_with_a_reason(swept, says):
    with pytest.raises(SweepError) as caught:
        sweep_values(SPECS, {}, swept, 32)
    assert says in " ".join(p.message for p in caught.value.problems)


def test_choices_and_booleans_are_checked_as_their_single_values_are():
    from compose.bindings import SelectHint

    specs = [*SPECS, InputSpec("split", "text", hint=SelectHint(("train", "test"))), InputSpec("shuffle", "boolean")]
    assert sweep_values(specs, {}, {"split": "train, test", "shuffle": "true, false"}, 32) == {
        "split": ["train", "test"],
        "shuffle": ["true", "false"],
    }
    with pytest.raises(SweepError) as caught:
        sweep_values(specs, {}, {"split": "train, tset", "shuffle": "true, maybe"}, 32)
    messages = " ".join(p.message for p in caught.value.problems)
    assert "'tset' is not one of train, test" in messages and "did you mean" in messages.lower()
    assert "expected true or false, got 'maybe'" in messages
