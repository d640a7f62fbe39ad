"""YAML text -> Python data, remembering where every value was written.

PyYAML's node API gives each node a start and end mark; walking the node tree once
records, for every path, the key node and value node. Problems carry 1-based lines
and columns. Duplicate keys, which PyYAML silently resolves to the last one, are
reported: a user who writes ``learning_rate`` twice meant only one of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from compose.errors import Problem
from compose.yamlio.paths import child, join, split


@dataclass
class Located:
    """Where a value sits: its mapping key node (None for list items and the root)."""

    key: Optional[Node]
    value: Node

    @property
    def line_column(self) -> tuple[int, int]:
        mark = (self.key or self.value).start_mark
        return mark.line + 1, mark.column + 1


@dataclass
class ReadResult:
    data: Any = None
    root: Optional[Node] = None
    nodes: dict[str, Located] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def locate(self, path: str) -> Optional[tuple[int, int]]:
        """Line and column of ``path``, or of its closest written ancestor."""
        try:
            segments = split(path)
        except ValueError:
            return None
        while True:
            found = self.nodes.get(join(*segments) if segments else "")
            if found is not None:
                return found.line_column
            if not segments:
                return None
            segments.pop()


# What the parser's wording usually means, for people who do not read parser messages.
_HINTS: tuple[tuple[str, str], ...] = (
    ("expected <block end>", "check the indentation of this line against the lines above it"),
    ("mapping values are not allowed here", "a value holding ': ' needs quotes, or a key is indented wrongly"),
    ("found character '\\t'", "YAML indents with spaces, not tabs"),
    ("could not find expected ':'", "a key is missing its ':'"),
    ("found undefined alias", "an *alias names an &anchor that is not defined"),
    ("expected a single document", "the file holds several documents (---); keep one"),
)


def _problem_from_yaml_error(exc: yaml.YAMLError, source: str) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"YAML syntax error: {problem}"
    if context:
        message += f" ({context})"
    for clue, hint in _HINTS:
        if clue in message:
            message += f"; {hint}"
            break
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return Problem("", message, line, column, source=source)


# libyaml's parser is about ten times faster; its node marks are the same (a plain
# scalar's style is "" rather than None). Error messages come from the pure-Python parser,
# whose wording the hints above know.
FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str, source: str = "<string>") -> ReadResult:
    """Parse one YAML document; never raises on bad input."""
    result = ReadResult()
    try:
        root, data = compose_and_construct(text, FastLoader)
    except yaml.YAMLError:
        try:
            root, data = compose_and_construct(text, yaml.SafeLoader)
        except yaml.YAMLError as exc:
            result.problems.append(_problem_from_yaml_error(exc, source))
            return result
    if root is not None:
        _walk(root, "", None, result, source, set())
        result.root = root
        result.data = data
    return result


def compose_and_construct(text: str, loader_class: type = FastLoader) -> tuple[Optional[Node], Any]:
    """The node tree of one document and the data it holds (None, None when empty)."""
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def _walk(node: Node, path: str, key: Optional[Node], result: ReadResult, source: str,
          active: set[int]) -> None:
    result.nodes[path] = Located(key, node)
    if id(node) in active:  # a recursive alias: recorded once, not followed
        return
    active.add(id(node))
    if isinstance(node, MappingNode):
        seen: dict[Any, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            name = key_node.value
            sub = child(path, name)
            if name in seen:
                first = seen[name].start_mark.line + 1
                result.problems.append(Problem(
                    sub, f"{name} is given twice (first on line {first}); keep one",
                    key_node.start_mark.line + 1, key_node.start_mark.column + 1, source=source))
            seen[name] = key_node
            _walk(value_node, sub, key_node, result, source, active)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, child(path, index), None, result, source, active)
    active.discard(id(node))
