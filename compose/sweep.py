"""A sweep: several values for some of a workflow's inputs, run as the grid of every combination.

The run form (and the API) take a list of values per swept input. Written as text, the
values are separated by commas (``1e-4, 5e-5, 2e-5``); a JSON list is taken as it is
(``["a, b", "c"]``), and a JSON input always takes one (``[[0, 1], [2, 3]]``): its values
hold commas of their own. Each value is then typed and checked as a single value is
(:func:`compose.inputs.input_problems`), and the grid is the cartesian product, in the
order the inputs are given.

>>> split_values("1e-4, 5e-5,", "number")
['1e-4', '5e-5']
>>> grid({"lr": [0.1, 0.2], "r": [8, 16]})
[{'lr': 0.1, 'r': 8}, {'lr': 0.1, 'r': 16}, {'lr': 0.2, 'r': 8}, {'lr': 0.2, 'r': 16}]
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from compose.bindings import convert, render_text
from compose.errors import ComposeError, Problem
from compose.inputs import InputSpec, input_problems

# The longest text of one swept input read at all; values beyond it are refused unread.
MAX_TEXT = 100_000


class SweepError(ComposeError):
    """Sweep values that do not fit; ``problems`` has paths ``inputs.<name>``."""


def split_values(text: str, type_: str) -> list[Any]:
    """The values written in one swept input's text (raises ``ValueError`` saying why).

    A JSON input, or a text that starts with ``[``, is read as a JSON list; any other is
    split at commas, blank items (a trailing comma) left out.

    >>> split_values('["a, b", "c"]', "text")
    ['a, b', 'c']
    >>> split_values("[1, 2]", "json")
    [1, 2]
    """
    if len(text) > MAX_TEXT:
        raise ValueError(f"the values are {len(text):,} characters long; the most is {MAX_TEXT:,}")
    stripped = text.strip()
    if type_ == "json" or stripped.startswith("["):
        try:
            values = json.loads(stripped, parse_float=_finite, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise ValueError("write the values as a JSON list, e.g. [1, 2] or [[0, 1], [2]]") from None
        if not isinstance(values, list):
            raise ValueError("write the values as a JSON list, e.g. [1, 2] or [[0, 1], [2]]")
        return values
    return [item.strip() for item in stripped.split(",") if item.strip()]


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large")
    return number


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not a value")


def grid_size(counts: Sequence[int]) -> int:
    """How many runs a grid of inputs with these numbers of values makes.

    >>> grid_size([3, 2]), grid_size([])
    (6, 1)
    """
    return math.prod(counts)


def grid(values: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the values, one dict per run; the last input varies fastest."""
    names = list(values)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(values[n] for n in names))]


def sweep_values(
    specs: list[InputSpec], raw: Mapping[str, Any], swept: Mapping[str, Any], max_runs: int
) -> dict[str, list[Any]]:
    """The raw values of each swept input, checked; raises :class:`SweepError` listing every problem.

    ``raw`` holds the single values of the other inputs (as :func:`compose.inputs.coerce_inputs`
    takes them); ``swept`` maps an input to its text (see :func:`split_values`) or its list of
    values. A value is checked as that input's single value would be, and a problem names
    it; a value given twice, an empty list, or a grid of more than ``max_runs`` runs is refused.
    """
    by_name = {spec.name: spec for spec in specs}
    problems: list[Problem] = []
    lists: dict[str, list[Any]] = {}
    for name, given in swept.items():
        path = f"inputs.{name}"
        spec = by_name.get(name)
        if spec is None:
            problems += [p for p in input_problems(specs, {name: ""}) if p.path == path]
            continue
        if isinstance(given, str):
            try:
                items = split_values(given, spec.type)
            except ValueError as exc:
                problems.append(Problem(path, f"input `{name}`: {exc}"))
                continue
        elif isinstance(given, list):
            items = given
        else:
            problems.append(Problem(path, f"input `{name}`: give its values as a list"))
            continue
        if not items:
            problems.append(Problem(path, f"input `{name}`: no values between the commas"))
        elif len(items) > max_runs:
            problems.append(
                Problem(path, f"input `{name}` has {len(items):,} values; a sweep makes at most {max_runs} runs")
            )
        else:
            lists[name] = items
    if problems:
        raise SweepError(problems)
    size = grid_size([len(items) for items in lists.values()])
    if size > max_runs:
        message = f"this sweep makes {size:,} runs; the most is {max_runs}"
        raise SweepError([Problem(f"inputs.{name}", message) for name in lists])
    for name, items in lists.items():
        problems += _value_problems(specs, raw, name, items)
    if problems:
        raise SweepError(problems)
    return lists


def _value_problems(specs: list[InputSpec], raw: Mapping[str, Any], name: str, items: list[Any]) -> list[Problem]:
    """Each value checked as the input's single value; the messages name the value."""
    path = f"inputs.{name}"
    type_ = next(spec.type for spec in specs if spec.name == name)
    problems: list[Problem] = []
    seen: list[Any] = []
    for item in items:
        if item is None or (isinstance(item, str) and not item.strip()):
            problems.append(Problem(path, f"input `{name}`: an empty value in the list"))
            continue
        if isinstance(item, float) and not math.isfinite(item):
            problems.append(Problem(path, f"input `{name}`: {item} is not a number a run can take"))
            continue
        found = [p for p in input_problems(specs, {**raw, name: item}) if p.path == path]
        if found:
            problems += found
            continue
        typed = convert(item, type_)
        if typed in seen:
            problems.append(Problem(path, f"input `{name}`: {_short(render_text(typed))} is given twice"))
        seen.append(typed)
    return problems


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
