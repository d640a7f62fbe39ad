"""YAML text -> Python data, remembering where every value was written.

PyYAML's node API gives each node a start and end mark; walking the node tree once
records, for every path, the key node and value node. Problems carry 1-based lines
and columns. Duplicate keys, which PyYAML silently resolves to the last one, are
reported: a user who writes ``learning_rate`` twice meant only one of them. The text is
read within the limits of :mod:`compose.yamlio.limits` (size, nesting, aliases).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import ParserError
from yaml.reader import ReaderError
from yaml.scanner import ScannerError

from compose.errors import Problem
from compose.yamlio.bounded import FastLoader, PureLoader, compose_and_construct
from compose.yamlio.limits import YamlLimitError, size_problem, text_size
from compose.yamlio.paths import child, join, split


@dataclass
class Located:
    """Where a value sits: its mapping key node (None for list items and the root)."""

    key: Node | None
    value: Node

    @property
    def line_column(self) -> tuple[int, int]:
        mark = (self.key or self.value).start_mark
        return mark.line + 1, mark.column + 1


@dataclass
class ReadResult:
    data: Any = None
    root: Node | None = None
    nodes: dict[str, Located] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def locate(self, path: str) -> tuple[int, int] | None:
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
# Line breaks as YAML counts them, so a position becomes the line its marks would say.
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _problem_from_yaml_error(exc: yaml.YAMLError, text: str, source: str) -> Problem:
    if isinstance(exc, ReaderError) and isinstance(exc.character, int):
        line, column = _line_column(text, exc.position)
        return Problem(
            "",
            f"YAML syntax error: the character U+{exc.character:04X} is not allowed in YAML "
            f"(control characters are often invisible: delete it)",
            line,
            column,
            source=source,
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if isinstance(exc, YamlLimitError):
        message = problem
    else:
        built = isinstance(exc, (ComposerError, ConstructorError))  # the syntax was fine
        message = f"YAML {'error' if built else 'syntax error'}: {problem}"
    if context:
        message += f" ({context})"
    for clue, hint in _HINTS:
        if clue in message:
            message += f"; {hint}"
            break
    return Problem(
        "",
        message,
        mark.line + 1 if mark is not None else None,
        mark.column + 1 if mark is not None else None,
        source=source,
    )


def _line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of character ``position`` of ``text``."""
    line, start = 1, 0
    for found in _BREAK.finditer(text, 0, position):
        line, start = line + 1, found.end()
    return line, position - start + 1


# Past this many characters a syntax error keeps libyaml's wording: the pure-Python parser
# reads about 250 KB a second, and a 1 MB text would hold a request for seconds.
REWORD_MAX_CHARS = 100_000


def read_yaml(text: str, source: str = "<string>") -> ReadResult:
    """Parse one YAML document within the limits of :mod:`compose.yamlio.limits`;
    never raises on bad input."""
    result = ReadResult()
    too_large = size_problem(text_size(text), source)
    if too_large is not None:
        result.problems.append(too_large)
        return result
    try:
        root, data = _compose(text)
    except yaml.YAMLError as exc:
        result.problems.append(_problem_from_yaml_error(exc, text, source))
        return result
    if root is not None:
        _walk(root, "", None, result, source)
        result.root = root
        result.data = data
    return result


def _compose(text: str) -> tuple[Node | None, Any]:
    """libyaml's parse, or the pure-Python one where its error says more."""
    try:
        return compose_and_construct(text, FastLoader)
    except (ReaderError, UnicodeEncodeError):
        # A control character, or a lone surrogate libyaml cannot even encode: the pure
        # reader finds it, with its position, before it parses anything.
        return compose_and_construct(text, PureLoader)
    except (ScannerError, ParserError):
        if len(text) > REWORD_MAX_CHARS:
            raise
        return compose_and_construct(text, PureLoader)


def _walk(node: Node, path: str, key: Node | None, result: ReadResult, source: str) -> None:
    # Recursive aliases are refused when reading, and the expanded size is bounded.
    result.nodes[path] = Located(key, node)
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
                result.problems.append(
                    Problem(
                        sub,
                        f"{name} is given twice (first on line {first}); keep one",
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        source=source,
                    )
                )
            seen[name] = key_node
            _walk(value_node, sub, key_node, result, source)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, child(path, index), None, result, source)
