"""How deep a parsed expression nests, found without recursion (the limit is ``MAX_DEPTH``)."""

from __future__ import annotations

import ast
import tokenize
from io import StringIO

from runner.dataset_prep.limits import MAX_DEPTH


def too_deep(root: ast.expr) -> ast.AST | None:
    """A node nested deeper than MAX_DEPTH, found without recursing, or None."""
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + isinstance(child, ast.expr)))
    return None


_PREFIX_OPERATORS = {"-", "+", "~", "not"}
_BRACKETS = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def deep_column(source: str) -> int:
    """Where to point when Python's parser gave up on ``source`` without saying where.

    That is where brackets plus a run of prefix operators first nest past MAX_DEPTH, else 1:
    operator chains (``1+1+...``) and postfix chains (``a[0][0]...``) are deepest at their
    first character, so 1 is the right answer for them.
    """
    depth = run = 0
    try:
        for token in tokenize.generate_tokens(StringIO(source).readline):
            if token.string in _PREFIX_OPERATORS:
                run += 1
            else:
                run = 0
                depth += _BRACKETS.get(token.string, 0)
            if depth + run > MAX_DEPTH:
                return token.start[1] + 1
    except (tokenize.TokenError, SyntaxError):
        pass
    return 1
