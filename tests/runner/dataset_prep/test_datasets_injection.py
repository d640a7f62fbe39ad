"""Hostile conditions, where trees and templates: refused or harmless, never executed, always quick.

Every case goes through one entry point (a filter condition, its Arrow plan, a where
``match``, a where tree, a map template), compiled and then evaluated on a small batch.
Two canaries watch for code running that no expression should run: a file the payloads
try to write, and an audit hook (:func:`sys.addaudithook`) that records process, file,
socket and dynamic-code events in ``FIRED`` while a case runs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from compose.jobspec import JobFailed
from runner.dataset_prep.arrow_condition import compile_arrow
from runner.dataset_prep.expression import ExpressionError, compile_condition
from runner.dataset_prep.limits import LimitError
from runner.dataset_prep.template import TemplateError, check_columns, parse_template, render_arrow
from runner.dataset_prep.where import compile_where

COLUMNS = ["text", "n", "flag", "tags"]
BATCH = {
    "text": ["hello", "", "x" * 3_000],
    "n": [3, -2, 10],
    "flag": [True, False, True],
    "tags": [["a"], [], ["b", "c"]],
}
KINDS = {"text": "str", "n": "num", "flag": "bool"}
CEILING_S = 5.0  # each case is linear now; the slow ones took minutes (or gigabytes) before

FIRED: list[str] = []
_WATCH: dict[str, Any] = {"armed": False, "canary": ""}
_EVENTS = {
    "os.system",
    "subprocess.Popen",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "ctypes.dlopen",
    "socket.connect",
    "builtins.breakpoint",
    "builtins.input",
    "os.kill",
}


def _audit(event: str, args: tuple) -> None:
    if not _WATCH["armed"]:
        return
    if event in _EVENTS:
        FIRED.append(event)
    elif event == "exec" and str(getattr(args[0], "co_filename", "<")).startswith("<"):
        FIRED.append("exec of dynamic code")  # eval/exec of a string; imports run files
    elif event == "open" and _WATCH["canary"] and _WATCH["canary"] in str(args[0]):
        FIRED.append(f"open {args[0]}")


sys.addaudithook(_audit)


# --- entry points: compile, then evaluate ------------------------------------------


def condition(payload: str) -> Callable[[], Any]:
    compiled = compile_condition(payload, COLUMNS)
    return lambda: compiled(dict(BATCH), 3)


def arrow(payload: str) -> Callable[[], Any]:
    plan = compile_arrow(payload, KINDS)  # None: the Python evaluator decides
    table = pa.table({name: BATCH[name] for name in KINDS})
    return lambda: None if plan is None else plan(table).to_pylist()


def match(payload: str) -> Callable[[], Any]:
    compiled = compile_where({"column": "text", "operator": "match", "value": payload}, COLUMNS)
    return lambda: compiled(dict(BATCH), 3)


def where(payload: Any) -> Callable[[], Any]:
    compiled = compile_where(payload, COLUMNS)
    return lambda: compiled(dict(BATCH), 3)


def template(payload: str) -> Callable[[], Any]:
    parsed = parse_template(payload)
    check_columns(parsed, COLUMNS)

    def render() -> Any:
        python = parsed.render(dict(BATCH), 3)
        if set(parsed.columns) <= {"text"}:
            assert render_arrow(parsed, {"text": pa.array(BATCH["text"])}).to_pylist() == python
        return python

    return render


REFUSED = (ExpressionError, TemplateError)
LIMITED = (LimitError, JobFailed)


@dataclass
class Case:
    entry: Callable[[Any], Callable[[], Any]]
    payload: Any
    outcome: str  # "refused" when compiled, "limited" when evaluated, or "harmless"
    says: str = ""  # part of the error message, or the first value for a harmless case
    expected: Any | None = None  # the text column for this case, when not BATCH's
    name: str = ""  # for a payload whose repr is too deep to print

    def __str__(self) -> str:
        shown = self.name or repr(self.payload)
        return f"{self.entry.__name__}:{shown if len(shown) < 60 else shown[:57] + '...'}"

    __repr__ = __str__


def _nested_not(depth: int) -> dict:
    tree: dict = {"column": "n", "operator": "gt", "value": 0}
    for _ in range(depth):
        tree = {"not": tree}
    return tree


SHELL = "__import__('os').system('touch CANARY')"
CASES = [
    # Reaching Python's object graph, builtins or the shell.
    Case(condition, "().__class__.__bases__[0].__subclasses__()", "refused", "unknown method '__subclasses__'"),
    Case(condition, SHELL, "refused", "unknown method 'system'"),
    Case(condition, "__import__('os')", "refused", "unknown function '__import__'"),
    Case(condition, "getattr(text, '__class__')", "refused", "unknown function 'getattr'"),
    Case(condition, f"(lambda: {SHELL})()", "refused", "only functions and string methods can be called"),
    Case(condition, f"[{SHELL} for _ in tags]", "refused", "a comprehension is not allowed"),
    Case(condition, "{k: 1 for k in tags}", "refused", "a comprehension is not allowed"),
    Case(condition, "max(x for x in tags)", "refused", "a generator is not allowed"),
    Case(condition, "'{0.__class__.__mro__}'.format(text)", "refused", "unknown method 'format'"),
    Case(condition, "'{t.__class__}'.format_map(tags)", "refused", "unknown method 'format_map'"),
    Case(condition, "str.format('{0.__class__}', text)", "refused", "unknown method 'format'"),
    Case(condition, "f'{text.__class__}'", "refused", "an f-string is not allowed"),
    Case(condition, 'f"{' + SHELL + '}"', "refused", "an f-string is not allowed"),
    Case(condition, "text.__class__.__mro__[-1].__subclasses__()", "refused", "unknown method '__subclasses__'"),
    Case(condition, "text.upper.__self__", "refused", "attribute access is not allowed"),
    Case(condition, "len.__self__.open('CANARY', 'w')", "refused", "unknown method 'open'"),
    Case(condition, "(y := __import__('os'))", "refused", "assignment (:=) is not allowed"),
    Case(condition, "'%s' % text.__class__", "refused", "attribute access is not allowed"),
    Case(condition, "open('CANARY', 'w').write('x')", "refused", "unknown method 'write'"),
    Case(condition, "open('CANARY', 'w')", "refused", "unknown function 'open'"),
    Case(condition, "eval('1')", "refused", "unknown function 'eval'"),
    Case(condition, "exec('import os')", "refused", "unknown function 'exec'"),
    Case(condition, "compile('1', 'x', 'eval')", "refused", "unknown function 'compile'"),
    Case(condition, "globals()", "refused", "unknown function 'globals'"),
    Case(condition, "vars(text)", "refused", "unknown function 'vars'"),
    Case(condition, "breakpoint()", "refused", "unknown function 'breakpoint'"),
    Case(condition, "type(text)", "refused", "unknown function 'type'"),
    Case(condition, "__builtins__", "refused", "unknown column '__builtins__'"),
    Case(condition, "text.__len__()", "refused", "unknown method '__len__'"),
    Case(condition, "tags.__getitem__(0)", "refused", "unknown method '__getitem__'"),
    Case(condition, "text[0].__class__", "refused", "attribute access is not allowed"),
    Case(condition, "lower.__globals__", "refused", "attribute access is not allowed"),
    Case(condition, "max.__call__(n, 1)", "refused", "unknown method '__call__'"),
    Case(condition, "text.encode('utf-8')", "refused", "unknown method 'encode'"),
    Case(condition, "(lambda: 1).__code__", "refused", "attribute access is not allowed"),
    Case(condition, "\uff54\uff45\uff58\uff54.__class__", "refused", "attribute access is not allowed"),  # ｔｅｘｔ
    Case(condition, "len(*tags)", "refused", "plain positional arguments only"),
    Case(condition, "len(text, **{'a': 1})", "refused", "plain positional arguments only"),
    Case(condition, "{**{'a': 1}}", "refused", "a dict is not allowed"),
    Case(condition, "await text", "refused", "await is not allowed"),
    Case(condition, "n @ n", "refused", "operator MatMult is not allowed"),
    Case(condition, "n ** 99999999", "refused", "operator Pow is not allowed"),
    Case(condition, "n << 99999999", "refused", "operator LShift is not allowed"),
    Case(condition, "'%(x)s' % {'x': text}", "refused", "a dict is not allowed"),
    Case(condition, "text % ()", "harmless", "hello"),
    Case(condition, "\uff54\uff45\uff58\uff54 == 'hello'", "harmless", True),  # NFKC: the column text
    # Size bombs: refused when constant, limited when built from rows.
    Case(condition, "'a' * 50_000_000 == text", "refused", "builds a string of 50,000,000 characters"),
    Case(condition, "b'x' * 50_000_000 == text", "refused", "builds a bytes value of 50,000,000 bytes"),
    Case(condition, "(1,) * 50_000_000 == tags", "refused", "builds a tuple of 50,000,000 items"),
    Case(condition, "'%050000000d' % 1 == text", "refused", "builds a string of up to 50,000,"),
    Case(condition, "'%.50000000f' % 1.5 == text", "refused", "builds a string of up to 50,000,"),
    Case(condition, "'%*s' % (50_000_000, 'x') == text", "refused", "builds a string of up to 50,000,"),
    Case(condition, "len(text * 5_000) > 0", "limited", "builds a string of 15,000,000 characters"),
    Case(condition, "len(tags * 6_000_000) > 0", "limited", "builds a list of 12,000,000 items"),
    Case(condition, "len((text * 4_000) + (text * 4_000)) > 0", "limited", "limit is 10,000,000"),
    Case(condition, "int('1' * 9000, 2) * int('1' * 9000, 2) > n", "limited", "18,000 bits with *"),
    Case(condition, "round(n, -2_000_000) == 0", "limited", "round() to -2,000,000 digits"),
    Case(condition, "text.strip('b' * 5_000_000 + 'a') == ''", "limited", "strip() with 5,000,001 characters"),
    # Nesting and length.
    Case(condition, "not " * 150 + "flag", "refused", "nests more than 100 levels deep at column 401"),
    Case(condition, "abs(" * 150 + "n" + ")" * 150, "refused", "nests more than 100 levels deep at column 401"),
    Case(condition, "-" * 5_000 + "n", "refused", "nests more than 100 levels deep at column 101"),
    Case(condition, "n + " * 30_000 + "n", "refused", "120,001 characters long; the limit is 100,000"),
    # The Arrow plan is only ever made for plain comparisons.
    Case(arrow, SHELL, "harmless", None),
    Case(arrow, "().__class__.__bases__[0].__subclasses__()", "harmless", None),
    Case(arrow, "not " * 5_000 + "flag", "harmless", None),
    Case(arrow, "-" * 5_000 + "n > 0", "harmless", None),
    Case(arrow, "n + " * 30_000 + "n > 0", "harmless", None),
    Case(arrow, "len(text) > 3 and flag", "harmless", True),
    # Regular expressions: linear time, and what RE2 cannot do is refused by name.
    Case(match, r"^(a+)+$", "harmless", False, expected=["a" * 27 + "!"]),
    Case(match, r"^(a|a?)+$", "harmless", False, expected=["a" * 27 + "!"]),
    Case(match, r"(x+x+)+y", "harmless", False, expected=["x" * 27]),
    Case(match, r"^(\w+\s?)*$", "harmless", False, expected=["a" * 27 + "!"]),
    Case(match, r"(a)\1", "refused", "has no backreferences"),
    Case(match, "(?=x)x", "refused", "has no lookahead"),
    Case(match, "(?<=x)y", "refused", "has no lookbehind"),
    Case(match, "(?{ system('touch CANARY') })", "refused", "invalid regular expression"),
    Case(match, "(x|y)" * 400_000, "refused", "RE2's memory limit"),
    Case(where, _nested_not(150), "refused", "the where tree nests more than 100 levels deep", name="not*150"),
    Case(where, _nested_not(5_000), "refused", "the where tree nests more than 100 levels deep", name="not*5000"),
    Case(where, {"column": "text", "operator": "in", "value": [SHELL]}, "harmless", False),
    Case(where, {"column": "__class__", "operator": "eq", "value": 1}, "refused", "unknown column '__class__'"),
    # Map templates: placeholders are column names, nothing else.
    Case(template, "{text.__class__}", "refused", "{text.__class__} names no column"),
    Case(template, "{0.__class__.__mro__}", "refused", "names no column"),
    Case(template, "{text!r}", "refused", "names no column"),
    Case(template, "{text:>999999999}", "refused", "names no column"),
    Case(template, "{" + SHELL + "}", "refused", "names no column"),
    Case(template, "%(text)s %s %0999999999d {text}", "harmless", "%(text)s %s %0999999999d hello"),
    Case(template, "{{text.__class__}} {text}", "harmless", "{text.__class__} hello"),
    Case(template, "{text}" * 16_000, "limited", "a row would be a string of 48,000,000 characters"),
    Case(template, "x" * 100_001, "refused", "template is 100,001 characters long"),
]


@pytest.fixture(scope="module", autouse=True)
def warmed():
    # Lazy imports (Arrow kernels, RE2) run module code; they happen here, before the canaries watch.
    for entry, payload in (
        (condition, "n > 1"),
        (arrow, "len(text) > 1"),
        (match, "a"),
        (where, {"column": "n", "operator": "gt", "value": 1}),
        (template, "{text}"),
    ):
        entry(payload)()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_hostile_input_is_refused_or_harmless(case: Case, tmp_path: Path):
    canary = tmp_path / "canary"
    payload = case.payload.replace("CANARY", str(canary)) if isinstance(case.payload, str) else case.payload
    batch_text = BATCH["text"]
    if case.expected is not None:
        BATCH["text"] = case.expected
    FIRED.clear()
    _WATCH.update(armed=True, canary=str(tmp_path))
    start = time.monotonic()
    try:
        outcome, result = _run(case.entry, payload)
    finally:
        elapsed = time.monotonic() - start
        _WATCH["armed"] = False
        BATCH["text"] = batch_text
    assert FIRED == [] and not canary.exists(), "an expression ran code"
    assert elapsed < CEILING_S
    assert outcome == case.outcome, result
    if outcome == "harmless":
        first = result[0] if isinstance(result, list) else result
        assert first == case.says
    else:
        assert case.says in str(result)


def _run(entry: Callable[[Any], Callable[[], Any]], payload: Any) -> tuple[str, Any]:
    try:
        evaluate = entry(payload)
    except REFUSED as exc:
        return "refused", exc
    try:
        return "harmless", evaluate()
    except LIMITED as exc:
        return "limited", exc


def test_the_canaries_see_code_running(tmp_path: Path):
    import os

    FIRED.clear()
    _WATCH.update(armed=True, canary=str(tmp_path))
    try:
        eval("1")  # noqa: S307 - what no expression may reach
        os.system("true")  # noqa: S605
        open(tmp_path / "canary", "w").close()
    finally:
        _WATCH["armed"] = False
    assert ["exec of dynamic code", "os.system", f"open {tmp_path / 'canary'}"] == FIRED
