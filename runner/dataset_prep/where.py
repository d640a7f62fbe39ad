"""The nested dialect's ``where`` tree, compiled into the same batch closures as a condition.

A leaf is ``{column, operator, value}``; ``all``/``any`` hold lists of nodes, ``not`` one
node. ``starts-with``, ``ends-with`` and ``match`` are false for a value that is not text;
``match`` searches (anchor the pattern with ``^``/``$`` to match the whole value) with RE2
(:mod:`runner.dataset_prep.regex`). A tree nests at most ``MAX_DEPTH`` levels.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Sequence
from typing import Any

from runner.dataset_prep.expression import Condition, ExpressionError, _short_circuit
from runner.dataset_prep.limits import MAX_DEPTH
from runner.dataset_prep.regex import RegexError, compile_search

_LEAF: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "in": lambda v, options: v in options,
    "not-in": lambda v, options: v not in options,
    "starts-with": lambda v, p: isinstance(v, str) and v.startswith(p),
    "ends-with": lambda v, p: isinstance(v, str) and v.endswith(p),
}


def compile_where(tree: Any, columns: Sequence[str]) -> Condition:
    """``tree`` is a WhereCondition model or its dict form (``not`` or ``not_`` for negation)."""
    used: set[str] = set()
    data = tree.model_dump(by_alias=True, exclude_none=True) if hasattr(tree, "model_dump") else tree
    vector = _node(data, list(columns), used, "where")
    return Condition(f"where {data}", vector, sorted(used), language="where")


def _node(node: Any, columns: list[str], used: set[str], path: str, depth: int = 1):
    if depth > MAX_DEPTH:
        raise ExpressionError(f"{_shorter(path)}: the where tree nests more than {MAX_DEPTH} levels deep")
    if not isinstance(node, dict):
        raise ExpressionError(f"{path}: expected a mapping with column/operator/value, all, any or not")
    node = {("not" if k == "not_" else k): v for k, v in node.items() if v is not None}
    groups = [k for k in ("all", "any", "not") if k in node]
    leaf = "column" in node or "operator" in node
    if len(groups) + leaf != 1:
        raise ExpressionError(f"{path}: give exactly one of column/operator/value, all, any, not")
    if "all" in node or "any" in node:
        key = "all" if "all" in node else "any"
        children = [_node(child, columns, used, f"{path}.{key}[{i}]", depth + 1) for i, child in enumerate(node[key])]
        if not children:
            empty = key == "all"  # all([]) is true, any([]) is false
            return lambda batch, n: [empty] * n
        return _short_circuit(children, want=key == "all")
    if "not" in node:
        inner = _node(node["not"], columns, used, f"{path}.not", depth + 1)
        return lambda batch, n: [not v for v in inner(batch, n)]
    return _leaf(node, columns, used, path)


def _leaf(node: dict[str, Any], columns: list[str], used: set[str], path: str):
    column, op_name, value = node.get("column"), node.get("operator"), node.get("value")
    if column not in columns:
        hint = difflib.get_close_matches(str(column), columns, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ExpressionError(f"{path}.column: unknown column {column!r}{extra}; the columns are: {', '.join(columns)}")
    used.add(column)
    test: Callable[[Any, Any], bool]
    if op_name == "match":
        try:
            search = compile_search(str(value))
        except RegexError as exc:
            raise ExpressionError(f"{path}.value: {exc}") from None

        def matches(v: Any, _: Any) -> bool:
            return isinstance(v, str) and search(v)

        test = matches
    elif op_name in _LEAF:
        test = _LEAF[op_name]
    else:
        raise ExpressionError(
            f"{path}.operator: unknown operator {op_name!r}; use one of {', '.join(list(_LEAF) + ['match'])}"
        )
    if op_name in ("in", "not-in"):
        if not isinstance(value, (list, tuple)):
            raise ExpressionError(f"{path}.value: operator {op_name} needs a list of values")
        value = tuple(value)
    return lambda batch, n: [test(v, value) for v in batch[column]]


def _shorter(path: str) -> str:
    """``where.not.not.…(97 more).not`` for a path too long to read."""
    parts = path.split(".")
    if len(parts) <= 8:
        return path
    return ".".join(parts[:4]) + f".…({len(parts) - 7} more)." + ".".join(parts[-3:])
