"""A filter condition compiled to Arrow compute kernels, for the cases where that is exact.

The Python evaluator in :mod:`runner.dataset_prep.expression` is the reference. This module
compiles the subset of conditions whose Arrow result is the same as Python's, value for
value, and returns None for anything else: comparisons of text with text or numbers with
numbers, ``in`` a literal list, ``"x" in column``, ``len()`` of text, ``startswith`` /
``endswith`` / ``contains`` with a literal, ``+ - *`` on numbers (overflow-checked),
``and or not``. Case mapping and whitespace stripping stay in Python (Unicode details
differ), as do ``/ // %`` (integer semantics differ) and anything touching a null: a
batch with a null in a column the condition reads is evaluated in Python.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from runner.dataset_prep.limits import MAX_SOURCE_LENGTH
from runner.dataset_prep.nesting import too_deep

ArrowFn = Callable[[Any], Any]  # pyarrow Table -> Array or Scalar-like value
_Node = tuple[ArrowFn, str, bool]  # (function, kind: "str" | "num" | "bool", is a constant)


class _Unsupported(Exception):
    pass


def compile_arrow(source: str, column_kinds: dict[str, str]) -> ArrowFn | None:
    """``table -> boolean Array`` for ``source``, or None when Arrow cannot match Python exactly.

    ``column_kinds`` maps the columns Arrow may read to "str", "num" or "bool".
    """
    if len(source) > MAX_SOURCE_LENGTH:
        return None
    try:
        tree = ast.parse(source.strip(), mode="eval")
        if too_deep(tree.body) is not None:
            return None
        fn, kind, constant = _Compiler(column_kinds).node(tree.body)
    except (SyntaxError, RecursionError, MemoryError, _Unsupported):
        return None
    if kind != "bool" or constant:
        return None
    return fn


def column_kind(feature: Any) -> str | None:
    dtype = getattr(feature, "dtype", None)
    if dtype in ("string", "large_string"):
        return "str"
    if dtype == "bool":
        return "bool"
    if isinstance(dtype, str) and dtype.startswith(("int", "uint", "float")) and dtype != "float16":
        return "num"
    return None


class _Compiler:
    def __init__(self, kinds: dict[str, str]):
        import pyarrow as pa
        import pyarrow.compute as pc

        self.pa, self.pc = pa, pc
        self.kinds = kinds

    def node(self, node: ast.AST) -> _Node:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise _Unsupported
        return method(node)

    def _Constant(self, node: ast.Constant) -> _Node:
        value = node.value
        if isinstance(value, bool):
            kind = "bool"
        elif isinstance(value, (int, float)):
            kind = "num"
        elif isinstance(value, str):
            kind = "str"
        else:
            raise _Unsupported
        return (lambda table: value), kind, True

    def _Name(self, node: ast.Name) -> _Node:
        kind = self.kinds.get(node.id)
        if kind is None:
            raise _Unsupported
        name = node.id
        return (lambda table: table.column(name)), kind, False

    def _BoolOp(self, node: ast.BoolOp) -> _Node:
        parts = [self.node(v) for v in node.values]
        if any(kind != "bool" or constant for _, kind, constant in parts):
            raise _Unsupported
        combine = self.pc.and_ if isinstance(node.op, ast.And) else self.pc.or_
        fns = [fn for fn, _, _ in parts]

        def run(table: Any) -> Any:
            out = fns[0](table)
            for fn in fns[1:]:
                out = combine(out, fn(table))
            return out

        return run, "bool", False

    def _UnaryOp(self, node: ast.UnaryOp) -> _Node:
        fn, kind, constant = self.node(node.operand)
        if constant:
            raise _Unsupported
        if isinstance(node.op, ast.Not) and kind == "bool":
            return (lambda table: self.pc.invert(fn(table))), "bool", False
        if isinstance(node.op, ast.USub) and kind == "num":
            return (lambda table: self.pc.negate_checked(fn(table))), "num", False
        raise _Unsupported

    def _BinOp(self, node: ast.BinOp) -> _Node:
        kernels = {ast.Add: self.pc.add_checked, ast.Sub: self.pc.subtract_checked, ast.Mult: self.pc.multiply_checked}
        kernel = kernels.get(type(node.op))
        left, right = self.node(node.left), self.node(node.right)
        if kernel is None or left[1] != "num" or right[1] != "num" or (left[2] and right[2]):
            raise _Unsupported
        lf, rf = left[0], right[0]
        return (lambda table: kernel(lf(table), rf(table))), "num", False

    def _Compare(self, node: ast.Compare) -> _Node:
        kernels = {
            ast.Eq: self.pc.equal,
            ast.NotEq: self.pc.not_equal,
            ast.Lt: self.pc.less,
            ast.LtE: self.pc.less_equal,
            ast.Gt: self.pc.greater,
            ast.GtE: self.pc.greater_equal,
        }
        fns = []
        left_node = node.left
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                fns.append(self._membership(left_node, right_node, negate=isinstance(op, ast.NotIn)))
            else:
                kernel = kernels.get(type(op))
                left, right = self.node(left_node), self.node(right_node)
                if kernel is None or left[1] != right[1] or (left[2] and right[2]):
                    raise _Unsupported
                if left[1] == "bool" and not isinstance(op, (ast.Eq, ast.NotEq)):
                    raise _Unsupported
                fns.append(self._pair(kernel, left[0], right[0]))
            left_node = right_node
        if len(fns) == 1:
            return fns[0], "bool", False

        def run(table: Any) -> Any:
            out = fns[0](table)
            for fn in fns[1:]:
                out = self.pc.and_(out, fn(table))
            return out

        return run, "bool", False

    @staticmethod
    def _pair(kernel: Callable[..., Any], lf: ArrowFn, rf: ArrowFn) -> ArrowFn:
        return lambda table: kernel(lf(table), rf(table))

    def _membership(self, left_node: ast.AST, right_node: ast.AST, negate: bool) -> ArrowFn:
        pc = self.pc
        if isinstance(right_node, (ast.List, ast.Tuple, ast.Set)):
            fn, kind, constant = self.node(left_node)
            items = [self.node(e) for e in right_node.elts]
            if constant or not items or any(not c or k != kind for _, k, c in items):
                raise _Unsupported
            values = self.pa.array([e.value for e in right_node.elts])  # type: ignore[attr-defined]
            test = lambda table: pc.is_in(fn(table), value_set=values)  # noqa: E731
        else:
            # "needle" in column: a literal substring of a text column.
            needle, kind, constant = self.node(left_node)
            hay, hay_kind, hay_constant = self.node(right_node)
            if not constant or kind != "str" or hay_kind != "str" or hay_constant:
                raise _Unsupported
            pattern = needle(None)
            test = lambda table: pc.match_substring(hay(table), pattern)  # noqa: E731
        return (lambda table: pc.invert(test(table))) if negate else test

    def _Call(self, node: ast.Call) -> _Node:
        if node.keywords:
            raise _Unsupported
        if isinstance(node.func, ast.Name):
            name, args = node.func.id, list(node.args)
        elif isinstance(node.func, ast.Attribute):
            name, args = node.func.attr, [node.func.value, *node.args]
        else:
            raise _Unsupported
        compiled = [self.node(a) for a in args]
        pc = self.pc
        if name == "len" and len(compiled) == 1 and compiled[0][1] == "str" and not compiled[0][2]:
            fn = compiled[0][0]
            return (lambda table: pc.utf8_length(fn(table))), "num", False
        kernels = {"startswith": pc.starts_with, "endswith": pc.ends_with, "contains": pc.match_substring}
        if name in kernels and len(compiled) == 2:
            (fn, kind, constant), (arg, arg_kind, arg_constant) = compiled
            if kind == "str" and not constant and arg_kind == "str" and arg_constant:
                kernel, pattern = kernels[name], arg(None)
                return (lambda table: kernel(fn(table), pattern)), "bool", False
        raise _Unsupported
