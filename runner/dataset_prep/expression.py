"""The filter ``condition`` language: a safe subset of Python expressions over a row's columns.

``len(output) > 20 and input == ""`` is parsed with :mod:`ast` and compiled once into a
tree of closures that evaluate a whole batch column by column (a list per node), so a
million rows cost a few list comprehensions per node, not a tree walk per row. Nothing
is ever passed to ``eval``: only the nodes below are accepted, names are columns, calls
are a fixed list of functions and string methods, and attributes other than those
methods do not exist.

Accepted: literals (numbers, strings, True/False/None, lists/tuples/sets of literals),
column names, ``and or not``, comparisons (``== != < <= > >= in not in is is not``, also
chained), ``+ - * / // %``, unary ``- +``, ``a if c else b``, indexing and slicing, and
the calls in :data:`FUNCTIONS` and :data:`METHODS`. ``and``/``or``/``if`` short-circuit
per row, as in Python: ``input != None and len(input) > 3`` never calls ``len(None)``.
What an expression may build or nest is bounded by :mod:`runner.dataset_prep.limits`.
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from runner.dataset_prep import guards
from runner.dataset_prep.limits import (
    MAX_DEPTH,
    MAX_SOURCE_LENGTH,
    BatchLimitError,
    Budget,
    LimitError,
    current_budget,
    end_batch,
    start_batch,
)
from runner.dataset_prep.nesting import deep_column, too_deep

Batch = dict[str, list]
Vector = Callable[[Batch, int], list]


class ExpressionError(ValueError):
    """A condition that cannot be compiled; the message shows where, with a caret."""


def _contains(text: Any, part: Any) -> bool:
    return part in text


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "lower": str.lower,
    "upper": str.upper,
    "strip": str.strip,
    "startswith": str.startswith,
    "endswith": str.endswith,
    "contains": _contains,
}
METHODS: dict[str, Callable[..., Any]] = {
    "lower": str.lower,
    "upper": str.upper,
    "strip": str.strip,
    "lstrip": str.lstrip,
    "rstrip": str.rstrip,
    "startswith": str.startswith,
    "endswith": str.endswith,
    "contains": _contains,
    "count": str.count,
    "find": str.find,
    "isdigit": str.isdigit,
    "isalpha": str.isalpha,
    "isspace": str.isspace,
}
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


@dataclass(frozen=True)
class _Const:
    value: Any


Node = Any  # a Vector or a _Const


# String predicates that always give True/False.
_BOOLEAN_CALLS = {"bool", "startswith", "endswith", "contains", "isdigit", "isalpha", "isspace"}


def _boolean(vector: Vector) -> Vector:
    """Mark a node whose values are always True/False (comparisons, not, predicates)."""
    vector.boolean = True  # type: ignore[attr-defined]
    return vector


def is_boolean(node: Node) -> bool:
    return isinstance(node, _Const) and isinstance(node.value, bool) or getattr(node, "boolean", False)


def _vector(node: Node) -> Vector:
    if isinstance(node, _Const):
        value = node.value
        return lambda batch, n: [value] * n
    return node


class Condition:
    """A compiled condition: ``condition(batch, n)`` is the list of results for the batch's rows."""

    def __init__(self, source: str, vector: Vector, columns: list[str], *, language: str = "expression"):
        self.source = source
        self.language = language  # "expression" (a condition string) or "where" (a tree)
        self.columns = columns  # the columns the condition reads
        self.boolean = is_boolean(vector)  # its values are already True/False
        self.batch_limit: BatchLimitError | None = None  # the last batch that spent its budget
        self._vector = vector

    def __call__(self, batch: Batch, n: int) -> list:
        self.batch_limit = None
        token = start_batch(batch)
        try:
            return self._vector(batch, n)
        except BatchLimitError as exc:
            self.batch_limit = exc
            raise
        finally:
            end_batch(token)

    def row(self, row: dict[str, Any]) -> Any:
        return self({k: [v] for k, v in row.items()}, 1)[0]


def compile_condition(source: str, columns: Sequence[str]) -> Condition:
    """Compile ``source`` against the data set's ``columns``; ExpressionError says what and where."""
    text = source.strip()
    if not text:
        raise ExpressionError("the condition is empty")
    if len(text) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"the condition is {len(text):,} characters long; the limit is {MAX_SOURCE_LENGTH:,}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(_pointed(text, exc.offset or 1, f"syntax error: {exc.msg}")) from None
    except (RecursionError, MemoryError):  # Python's parser gives up on deep nesting, saying nowhere
        raise ExpressionError(_pointed(text, deep_column(text), _too_deep())) from None
    deep = too_deep(tree.body)
    if deep is not None:
        raise ExpressionError(_pointed(text, getattr(deep, "col_offset", 0) + 1, _too_deep()))
    compiler = _Compiler(text, list(columns))
    return Condition(text, _vector(compiler.node(tree.body)), sorted(compiler.used))


def _too_deep() -> str:
    return f"the expression nests more than {MAX_DEPTH} levels deep"


def _pointed(source: str, column: int, message: str) -> str:
    """``message`` plus the condition with a caret under 1-based ``column``."""
    line = source.splitlines()[0] if "\n" not in source else source.replace("\n", " ")
    caret = column - 1
    if len(line) > _SHOWN:  # a window around the caret, not a 100,000-character line
        start = max(0, min(caret - _SHOWN // 2, len(line) - _SHOWN))
        line = ("…" if start else "") + line[start : start + _SHOWN] + ("…" if start + _SHOWN < len(line) else "")
        caret = caret - start + (1 if start else 0)
    return f"{message} at column {column}\n  {line}\n  {' ' * caret}^"


_SHOWN = 120  # characters of a long condition shown around the caret


class _Compiler:
    def __init__(self, source: str, columns: list[str]):
        self.source = source
        self.columns = columns
        self.used: set[str] = set()

    def fail(self, node: ast.AST, message: str) -> ExpressionError:
        return ExpressionError(_pointed(self.source, getattr(node, "col_offset", 0) + 1, message))

    def node(self, node: ast.AST) -> Node:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise self.fail(node, f"{_describe(node)} is not allowed in a condition")
        return method(node)

    # --- leaves ------------------------------------------------------------------
    def _Constant(self, node: ast.Constant) -> Node:
        return _Const(node.value)

    def _Name(self, node: ast.Name) -> Node:
        name = node.id
        if name in self.columns:
            self.used.add(name)
            return lambda batch, n: batch[name]
        if name in FUNCTIONS:
            raise self.fail(node, f"{name} is a function: call it, e.g. {name}(column)")
        hint = difflib.get_close_matches(name, self.columns, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise self.fail(node, f"unknown column {name!r}{extra}; the columns are: {', '.join(self.columns)}")

    def _literal_items(self, node: ast.AST, elts: list[ast.expr]) -> list:
        items = [self.node(e) for e in elts]
        if not all(isinstance(i, _Const) for i in items):
            raise self.fail(node, "a list, tuple or set in a condition may hold only literal values")
        return [i.value for i in items]

    def _List(self, node: ast.List) -> Node:
        return _Const(tuple(self._literal_items(node, node.elts)))

    def _Tuple(self, node: ast.Tuple) -> Node:
        return _Const(tuple(self._literal_items(node, node.elts)))

    def _Set(self, node: ast.Set) -> Node:
        items = self._literal_items(node, node.elts)
        try:
            return _Const(frozenset(items))
        except TypeError:
            return _Const(tuple(items))

    # --- operators ---------------------------------------------------------------
    def _UnaryOp(self, node: ast.UnaryOp) -> Node:
        op = _UNARY.get(type(node.op))
        if op is None:
            raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        operand = _vector(self.node(node.operand))
        run = lambda batch, n: list(map(op, operand(batch, n)))  # noqa: E731
        return _boolean(run) if op is operator.not_ else run

    def _BinOp(self, node: ast.BinOp) -> Node:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise self.fail(node, f"operator {type(node.op).__name__} is not allowed (use + - * / // %)")
        left, right = self.node(node.left), self.node(node.right)
        guard = guards.GUARDS.get(op)
        if guard is None:
            return _pairwise(op, left, right)
        if isinstance(left, _Const) and isinstance(right, _Const):
            try:
                guard(left.value, right.value, Budget())
            except LimitError as exc:
                raise self.fail(node, exc.message) from None
            try:  # folded once, so 'x' * 6_000_000 + 'y' * 6_000_000 is checked here too
                return _Const(op(left.value, right.value))
            except Exception:  # noqa: BLE001 - e.g. 1 / 0: the rows report it, as before
                pass
        return _guarded(op, guard, left, right, self.at(node))

    def at(self, node: ast.AST) -> Callable[[str], str]:
        """``message`` -> the message pointing at ``node``, for errors found while rows are evaluated."""
        return lambda message: _pointed(self.source, getattr(node, "col_offset", 0) + 1, message)

    def _Compare(self, node: ast.Compare) -> Node:
        parts: list[Node] = []
        left = self.node(node.left)
        for op_node, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.node(right_node)
            parts.append(_boolean(_vector(_pairwise(_COMPARE[type(op_node)], left, right))))
            left = right
        return parts[0] if len(parts) == 1 else _short_circuit(parts, want=True)

    def _BoolOp(self, node: ast.BoolOp) -> Node:
        values = [_vector(self.node(v)) for v in node.values]
        return _short_circuit(values, want=isinstance(node.op, ast.And))

    def _IfExp(self, node: ast.IfExp) -> Node:
        test, body, orelse = (_vector(self.node(n)) for n in (node.test, node.body, node.orelse))

        def run(batch: Batch, n: int) -> list:
            flags = test(batch, n)
            out: list = [None] * n
            for branch, wanted in ((body, True), (orelse, False)):
                rows = [i for i, f in enumerate(flags) if bool(f) is wanted]
                if rows:
                    for i, v in zip(rows, branch(_take(batch, rows, n), len(rows)), strict=True):
                        out[i] = v
            return out

        return run

    def _Subscript(self, node: ast.Subscript) -> Node:
        value = _vector(self.node(node.value))
        if isinstance(node.slice, ast.Slice):
            bounds = [
                self.node(b) if b is not None else _Const(None)
                for b in (node.slice.lower, node.slice.upper, node.slice.step)
            ]
            if not all(isinstance(b, _Const) for b in bounds):
                raise self.fail(node, "slice bounds must be numbers")
            cut = slice(*(b.value for b in bounds))
            return lambda batch, n: [v[cut] for v in value(batch, n)]
        key = _vector(self.node(node.slice))
        return lambda batch, n: list(map(operator.getitem, value(batch, n), key(batch, n)))

    def _Call(self, node: ast.Call) -> Node:
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, "calls take plain positional arguments only")
        args = [_vector(self.node(a)) for a in node.args]
        if isinstance(node.func, ast.Name):
            func = FUNCTIONS.get(node.func.id)
            if func is None:
                raise self.fail(node, f"unknown function {node.func.id!r}; available: {', '.join(sorted(FUNCTIONS))}")
        elif isinstance(node.func, ast.Attribute):
            func = METHODS.get(node.func.attr)
            if func is None:
                column = (node.func.end_col_offset or 0) - len(node.func.attr) + 1
                raise ExpressionError(
                    _pointed(
                        self.source,
                        column,
                        f"unknown method {node.func.attr!r}; available: {', '.join(sorted(METHODS))}",
                    )
                )
            args = [_vector(self.node(node.func.value))] + args
        else:
            raise self.fail(node, "only functions and string methods can be called")
        if not args:
            raise self.fail(node, "this call needs an argument")
        name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        check, at = guards.CALL_CHECKS.get(func), self.at(node)

        def run(batch: Batch, n: int) -> list:
            values = [a(batch, n) for a in args]
            if check is not None:
                try:
                    check(values)
                except LimitError as exc:
                    raise LimitError(at(exc.message)) from None
            return list(map(func, *values))

        return _boolean(run) if name in _BOOLEAN_CALLS else run


def _pairwise(op: Callable[[Any, Any], Any], left: Node, right: Node) -> Node:
    if isinstance(left, _Const) and isinstance(right, _Const):
        a, b = left.value, right.value
        return lambda batch, n: [op(a, b)] * n
    # map() over operator functions runs the loop in C: about twice a comprehension's speed.
    if isinstance(right, _Const):
        b = right.value
        return lambda batch, n: list(map(op, left(batch, n), repeat(b)))
    if isinstance(left, _Const):
        a = left.value
        return lambda batch, n: list(map(op, repeat(a), right(batch, n)))
    return lambda batch, n: list(map(op, left(batch, n), right(batch, n)))


def _guarded(
    op: Callable[[Any, Any], Any], guard: guards.Guard, left: Node, right: Node, at: Callable[[str], str]
) -> Vector:
    """``op`` pairwise, each pair checked by ``guard`` first unless both sides are plain numbers."""
    plain = guards.plain_numbers(op)
    sides = [_checked_side(side, plain) for side in (left, right)]

    def run(batch: Batch, n: int) -> list:
        (a, a_plain), (b, b_plain) = (side(batch, n) for side in sides)
        budget = current_budget()
        if a_plain and b_plain or guards.fits_in_bulk(op, a, b, budget):
            return list(map(op, a, b))
        out = []
        for x, y in zip(a, b, strict=True):
            try:
                guard(x, y, budget)
            except LimitError as exc:
                raise type(exc)(at(exc.message)) from None
            out.append(op(x, y))
        return out

    return run


def _checked_side(node: Node, plain: Callable[[list], bool]) -> Callable[[Batch, int], tuple[Any, bool]]:
    """A side of a guarded operator: its values for a batch, and whether they are plain numbers."""
    if isinstance(node, _Const):
        value, is_plain = node.value, plain([node.value])  # checked once, not per batch
        return lambda batch, n: ([value] * n, is_plain)

    def values(batch: Batch, n: int) -> tuple[list, bool]:
        column = node(batch, n)
        return column, plain(column)

    return values


def _take(batch: Batch, rows: list[int], n: int) -> Batch:
    if len(rows) == n:
        return batch
    return {name: [column[i] for i in rows] for name, column in batch.items()}


def _short_circuit(parts: list[Vector], want: bool) -> Vector:
    """Python's ``and`` (want=True) / ``or`` (want=False): later parts run only on rows still open.

    Every node is a pure function of the row, so when all parts evaluate on the whole batch
    without an error, combining them gives exactly Python's values; that fast path costs one
    pass per part. Only a batch where some part fails (``len(None)`` on a row the left side
    excludes) takes the row-by-row-open path.
    """

    all_boolean = all(is_boolean(p) for p in parts)
    # On True/False values & and | equal and/or, and map() runs them in C.
    bitwise = operator.and_ if want else operator.or_

    def run(batch: Batch, n: int) -> list:
        budget = current_budget()
        spent = budget.used
        try:
            columns = [part(batch, n) for part in parts]
        except Exception:  # some row needs the short circuit; see careful()
            budget.used = spent  # rows the short circuit skips build nothing
            return careful(batch, n)
        out = columns[0]
        for column in columns[1:]:
            if all_boolean:
                out = list(map(bitwise, out, column))
            else:
                out = (
                    [a and b for a, b in zip(out, column, strict=True)]
                    if want
                    else [a or b for a, b in zip(out, column, strict=True)]
                )
        return list(out) if len(columns) == 1 else out

    def careful(batch: Batch, n: int) -> list:
        out = list(parts[0](batch, n))
        open_rows = [i for i, v in enumerate(out) if bool(v) is want]
        for part in parts[1:]:
            if not open_rows:
                break
            values = part(_take(batch, open_rows, n), len(open_rows))
            for i, v in zip(open_rows, values, strict=True):
                out[i] = v
            open_rows = [i for i, v in zip(open_rows, values, strict=True) if bool(v) is want]
        return out

    return _boolean(run) if all_boolean else run


def _describe(node: ast.AST) -> str:
    names = {
        "Lambda": "lambda",
        "Attribute": "attribute access",
        "ListComp": "a comprehension",
        "GeneratorExp": "a generator",
        "DictComp": "a comprehension",
        "SetComp": "a comprehension",
        "NamedExpr": "assignment (:=)",
        "Await": "await",
        "Dict": "a dict",
        "JoinedStr": "an f-string",
        "Starred": "*unpacking",
    }
    return names.get(type(node).__name__, type(node).__name__)


def explain_row_error(condition: Condition, batch: Batch, n: int, offset: Sequence[int]) -> str | None:
    """After a batch failed: which row fails alone, with its values, for the error message."""
    if condition.batch_limit is not None:  # no row fails alone; rerunning them would only repeat the work
        return f"rows {offset[0]} to {offset[n - 1]}: {condition.batch_limit}"
    for i in range(n):
        row = {name: column[i] for name, column in batch.items()}
        try:
            condition.row(row)
        except Exception as exc:  # the user's expression met data it cannot handle
            shown = ", ".join(f"{k}={_short(v)}" for k, v in row.items() if k in condition.columns)
            reason = str(exc) if isinstance(exc, LimitError) else f"{type(exc).__name__}: {exc}"
            return f"row {offset[i]} ({shown}): {reason}"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"
