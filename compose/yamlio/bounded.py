"""PyYAML's safe loading with the limits of :mod:`compose.yamlio.limits` enforced.

PyYAML's composer follows the parser's events recursively, so a text nested a few
thousand levels deep exhausts Python's stack, and it shares an anchored node wherever
it is aliased, so 415 bytes of aliases stand for a billion values that every later
walk over the data pays for. Here the node tree is built from the same events with an
explicit stack, and each alias adds the size and depth of what it names, so a document
over a limit is refused at the first event that crosses it, before anything walks it.
An alias inside its own anchor (a document that contains itself) is refused too: no
compose file needs one, and every walk over the data would loop.

Every failure is a :class:`yaml.YAMLError` with a mark: a scalar that its tag cannot
build (``!!float x``, a 5,000-digit integer) becomes a :class:`ConstructorError` at
that scalar instead of the ``ValueError`` PyYAML lets out.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from compose.yamlio import limits

YAML_TAG = "tag:yaml.org,2002:"
_REFUSED = ", more than compose-web reads"


class _Constructor(SafeConstructor):
    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, LookupError, AttributeError, ArithmeticError) as exc:
            raise ConstructorError(None, None, _unbuildable(node, exc), node.start_mark) from None


def _unbuildable(node: Node, exc: Exception) -> str:
    tag = "!!" + node.tag[len(YAML_TAG) :] if node.tag.startswith(YAML_TAG) else node.tag
    if isinstance(node, ScalarNode):
        value = node.value if len(node.value) <= 40 else node.value[:37] + "..."
        if isinstance(exc, ValueError) and "digits" in str(exc):  # Python's guard on int("9" * 5000)
            return (
                f"this number has {len(node.value):,} digits, more than Python reads ({sys.get_int_max_str_digits():,})"
            )
        return f"{value!r} is not a valid {tag}"
    return f"this {node.id} is not a valid {tag}"


class PureLoader(Reader, Scanner, Parser, _Constructor, Resolver):
    """The pure-Python parser, whose error wording the reader's hints know."""

    def __init__(self, stream: str):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _Constructor.__init__(self)
        Resolver.__init__(self)


try:
    from yaml.cyaml import CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    FastLoader: type = PureLoader
else:

    class FastLoader(CParser, _Constructor, Resolver):  # type: ignore[no-redef]
        """libyaml's parser: about ten times faster, with the same marks (a plain scalar's
        style is "" rather than None)."""

        def __init__(self, stream: str):
            CParser.__init__(self, stream)
            _Constructor.__init__(self)
            Resolver.__init__(self)


@dataclass(frozen=True)
class _Measure:
    size: int  # values (a key counts as one)
    depth: int  # levels
    chars: int  # characters of scalars


@dataclass
class _Open:
    node: Node
    anchor: str | None
    size: int = 1  # this node and everything under it, aliases expanded
    depth: int = 1  # levels from this node down, aliases expanded
    chars: int = 0  # characters of the scalars under it, aliases expanded
    key: Node | None = None  # a mapping's key waiting for its value


class _Composer:
    """Builds the node tree of one document from a loader's events, within the limits."""

    def __init__(self, loader: Any):
        self.loader = loader
        self.anchors: dict[str, Node] = {}
        self.measures: dict[int, _Measure] = {}  # id(anchored node) -> its size, depth, chars
        self.stack: list[_Open] = []
        self.size = 0
        self.chars = 0
        self.aliases = 0

    def single_document(self) -> Node | None:
        loader = self.loader
        loader.get_event()  # StreamStart
        root = None
        if not loader.check_event(StreamEndEvent):
            start = loader.get_event()
            assert isinstance(start, DocumentStartEvent)
            root = self.compose()
            loader.get_event()  # DocumentEnd
            if not loader.check_event(StreamEndEvent):
                event = loader.get_event()
                raise ComposerError(
                    "expected a single document in the stream",
                    root.start_mark,
                    "but found another document",
                    event.start_mark,
                )
        loader.get_event()  # StreamEnd
        return root

    def compose(self) -> Node:
        loader = self.loader
        while True:
            event: Event = loader.get_event()
            if isinstance(event, (SequenceEndEvent, MappingEndEvent)):
                done = self.stack.pop()
                done.node.end_mark = event.end_mark
                finished, measure = done.node, _Measure(done.size, done.depth, done.chars)
                if done.anchor is not None:
                    self.measures[id(finished)] = measure
            elif isinstance(event, AliasEvent):
                finished, measure = self.alias(event)
            else:
                if event.anchor is not None and event.anchor in self.anchors:
                    first = self.anchors[event.anchor].start_mark.line + 1
                    raise ComposerError(
                        None,
                        None,
                        f"the anchor &{event.anchor} is defined twice (first on line {first}); rename one",
                        event.start_mark,
                    )
                chars = len(event.value) if isinstance(event, ScalarEvent) else 0
                self.count(_Measure(1, 1, chars), event)
                if len(self.stack) + 1 > limits.MAX_DEPTH:
                    raise limits.YamlLimitError(
                        f"the document nests more than {limits.MAX_DEPTH} levels deep{_REFUSED}", event.start_mark
                    )
                if isinstance(event, ScalarEvent):
                    finished, measure = self.scalar(event), _Measure(1, 1, chars)
                else:
                    self.start_collection(event)
                    continue
            if not self.stack:
                return finished
            self.add_child(finished, measure)

    def count(self, measure: _Measure, event: Event) -> None:
        self.size += measure.size
        self.chars += measure.chars
        if self.size > limits.MAX_NODES:
            raise limits.YamlLimitError(
                f"the document holds more than {limits.MAX_NODES:,} values, counting each alias as a copy "
                f"of what it names{_REFUSED}",
                event.start_mark,
            )
        if self.chars > limits.MAX_EXPANDED_CHARS:
            raise limits.YamlLimitError(
                f"the document's values hold more than {limits.MAX_EXPANDED_CHARS:,} characters, counting "
                f"each alias as a copy of what it names{_REFUSED}",
                event.start_mark,
            )

    def alias(self, event: AliasEvent) -> tuple[Node, _Measure]:
        node = self.anchors.get(event.anchor)
        if node is None:
            raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
        if id(node) not in self.measures:
            raise limits.YamlLimitError(
                f"the alias *{event.anchor} is inside its own anchor &{event.anchor}: a document that "
                f"contains itself cannot be read",
                event.start_mark,
            )
        self.aliases += 1
        if self.aliases > limits.MAX_ALIASES:
            raise limits.YamlLimitError(
                f"the document uses aliases more than {limits.MAX_ALIASES:,} times{_REFUSED}", event.start_mark
            )
        measure = self.measures[id(node)]
        self.count(measure, event)
        if len(self.stack) + measure.depth > limits.MAX_DEPTH:
            raise limits.YamlLimitError(
                f"the alias *{event.anchor} makes the document nest more than {limits.MAX_DEPTH} levels deep{_REFUSED}",
                event.start_mark,
            )
        return node, measure

    def scalar(self, event: ScalarEvent) -> ScalarNode:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(ScalarNode, event.value, event.implicit)
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        if event.anchor is not None:
            self.anchors[event.anchor] = node
            self.measures[id(node)] = _Measure(1, 1, len(event.value))
        return node

    def start_collection(self, event: Event) -> None:
        kind = SequenceNode if isinstance(event, SequenceStartEvent) else MappingNode
        assert isinstance(event, (SequenceStartEvent, MappingStartEvent))
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(kind, None, event.implicit)
        node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
        if event.anchor is not None:
            self.anchors[event.anchor] = node  # known now, measured once closed
        self.stack.append(_Open(node, event.anchor))

    def add_child(self, child: Node, measure: _Measure) -> None:
        parent = self.stack[-1]
        parent.size += measure.size
        parent.depth = max(parent.depth, measure.depth + 1)
        parent.chars += measure.chars
        if isinstance(parent.node, SequenceNode):
            parent.node.value.append(child)
        elif parent.key is None:
            parent.key = child
        else:
            parent.node.value.append((parent.key, child))
            parent.key = None


def compose_and_construct(text: str, loader_class: type = FastLoader) -> tuple[Node | None, Any]:
    """The node tree of one document and the data it holds (None, None when empty).

    Raises a :class:`yaml.YAMLError` for bad YAML and :class:`limits.YamlLimitError` for
    a document over a limit; libyaml refuses text holding lone surrogates with a
    ``UnicodeEncodeError``, which the pure loader reports as a YAML error.
    """
    loader = loader_class(text)
    try:
        root = _Composer(loader).single_document()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def load_value(text: str) -> Any:
    """``yaml.safe_load`` for a small value a person typed (a form field, a json input):
    within the same limits as a whole file, and every failure a :class:`yaml.YAMLError`."""
    from yaml import YAMLError

    from compose.yamlio.limits import MAX_BYTES, text_size

    if text_size(text) > MAX_BYTES:
        raise YAMLError(f"the text is over {MAX_BYTES:,} bytes")
    try:
        return compose_and_construct(text)[1]
    except UnicodeEncodeError as exc:
        raise YAMLError(f"the text holds a character YAML cannot read ({exc.reason})") from None
