"""The ``${...}`` binding engine (SPEC §3; grammar and decisions in docs/bindings.md).

A binding is ``${source.path as type | default}``::

    ${input.learning_rate as number | 5e-5}
    ${jobs.load.output}                 # a job's whole output: a dataset reference
    ${jobs.load.output.columns[-1]}
    ${env.HF_TOKEN}
    ${input.optim as select/adamw_torch,sgd | sgd}
    ${input.lr as slider/0.00001,0.001,0.00001}

A string that is exactly one binding becomes the native value; a binding inside
longer text is rendered as text. Substitution is a single left-to-right pass: text
that a binding inserts is never scanned again. ``$${`` writes a literal ``${``.

>>> ctx = BindingContext(inputs={"n": 3, "name": "alpaca"}, jobs={"load": {"num_rows": 10}})
>>> resolve("${input.n}", ctx)
3
>>> resolve("rows: ${jobs.load.output.num_rows}", ctx)
'rows: 10'
>>> resolve("${input.lr | 5e-5}", ctx, field_type="number")
5e-05
>>> resolve("${input.missing | ${input.name}}", ctx)
'alpaca'
>>> resolve('${input.sep | "a|b"}', ctx)
'a|b'
>>> resolve("$${input.n} is ${input.n}", ctx)
'${input.n} is 3'
>>> resolve("${input.other}", ctx)
Traceback (most recent call last):
...
compose.bindings.BindingError: ${input.other}: input `other` is missing and has no default
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from compose.yamlio.bounded import load_value

SOURCES: tuple[str, ...] = ("input", "jobs", "env", "item", "output", "result")
TYPES: tuple[str, ...] = ("text", "number", "integer", "boolean", "json")
HINTS: tuple[str, ...] = ("select", "slider")
# Spellings people reach for, mapped to the type names of the grammar.
TYPE_ALIASES: dict[str, str] = {
    "string": "text",
    "str": "text",
    "float": "number",
    "int": "integer",
    "bool": "boolean",
    "object": "json",
}
ESCAPE = "$${"

_TRUE = {"true", "yes", "on", "1", "y"}
_FALSE = {"false", "no", "off", "0", "n"}
_STOP = set(" \t\r\n.[]{}|$\"'")


class BindingError(ValueError):
    """A binding that cannot be parsed or resolved; the message names the binding."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class SelectHint:
    options: tuple[str, ...]
    kind: str = "select"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "select", "options": list(self.options)}


@dataclass(frozen=True)
class SliderHint:
    min: float
    max: float
    step: float | None = None
    kind: str = "slider"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "slider", "min": self.min, "max": self.max, "step": self.step}


Hint = SelectHint | SliderHint


@dataclass(frozen=True)
class Binding:
    """One parsed ``${...}``.

    ``source`` is one of :data:`SOURCES`; ``job`` is set for ``jobs``; ``path`` holds
    the keys (str) and indices (int) after the source (``("columns", -1)``), for
    ``input`` and ``env`` its first item is the name. ``type`` is the value type
    or None when untyped (``as select/...`` too: the options take the type of the field
    they fill, text elsewhere; ``as slider/...`` is a number).
    ``default`` is the default's text with its quotes dropped, None without ``|``.
    ``start``/``end`` locate ``raw`` in the string it was found in.
    """

    source: str
    path: tuple[str | int, ...]
    type: str | None
    hint: Hint | None
    default: str | None
    raw: str
    start: int
    end: int
    job: str | None = None
    default_quoted: bool = False

    @property
    def name(self) -> str | None:
        """The input or environment variable name (``${input.NAME...}``)."""
        if self.source in ("input", "env") and self.path:
            return str(self.path[0])
        return None

    @property
    def has_default(self) -> bool:
        return self.default is not None


@dataclass
class BindingContext:
    """What bindings resolve against.

    ``inputs`` fills ``${input.*}``, ``jobs`` maps job id -> output for
    ``${jobs.<id>.output}``, ``env`` fills ``${env.*}``; ``item`` and ``output``
    (``${output}``/``${result}``) stay MISSING unless set. Every environment value
    read is recorded in ``env_used`` (callers treat them as secrets); notes about
    lenient resolutions (an unset variable read as null) go to ``notes``.
    """

    inputs: Mapping[str, Any] = field(default_factory=dict)
    jobs: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    item: Any = MISSING
    output: Any = MISSING
    env_used: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --- parsing ---------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, start: int):
        self.text = text
        self.pos = start  # just after "${"
        self.open = start - 2

    def error(self, message: str) -> BindingError:
        snippet = self.text[self.open : self.open + 60]
        return BindingError(f"{snippet}: {message}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_ws(self) -> None:
        while self.peek() and self.peek() in " \t\r\n":
            self.pos += 1

    def word(self) -> str:
        begin = self.pos
        while self.peek() and self.peek() not in _STOP:
            self.pos += 1
        return self.text[begin : self.pos]

    def parse(self) -> tuple[Binding, list[Binding]]:
        self.skip_ws()
        source = self.word()
        if source not in SOURCES:
            raise self.error(f"unknown source {source!r}; a binding starts with one of " + ", ".join(SOURCES))
        path = self.parse_path()
        job = None
        if source == "jobs":
            if len(path) < 2 or not isinstance(path[0], str) or path[1] != "output":
                raise self.error("read a job's output as ${jobs.<job-id>.output...}")
            job, path = str(path[0]), path[2:]
        elif source in ("input", "env") and (not path or not isinstance(path[0], str)):
            raise self.error(f"name the {source} value: ${{{source}.NAME}}")
        elif source == "env" and len(path) > 1:
            raise self.error("an environment variable has no fields: ${env.NAME}")
        self.skip_ws()
        type_, hint = None, None
        if self.text.startswith("as", self.pos) and (
            self.pos + 2 >= len(self.text) or self.text[self.pos + 2] in " \t\r\n"
        ):
            self.pos += 2
            self.skip_ws()
            type_, hint = self.parse_type()
            self.skip_ws()
        default, quoted = None, False
        nested: list[Binding] = []
        if self.peek() == "|":
            self.pos += 1
            default, quoted, nested = self.parse_default()
        if self.peek() != "}":
            if not self.peek():
                raise self.error("no closing }")
            raise self.error(
                f"unexpected {self.text[self.pos : self.pos + 10]!r}; expected 'as TYPE', '| default' or '}}'"
            )
        self.pos += 1
        raw = self.text[self.open : self.pos]
        binding = Binding(
            source=source,
            path=path,
            type=type_,
            hint=hint,
            default=default,
            raw=raw,
            start=self.open,
            end=self.pos,
            job=job,
            default_quoted=quoted,
        )
        return binding, nested

    def parse_path(self) -> tuple[str | int, ...]:
        parts: list[str | int] = []
        while True:
            ch = self.peek()
            if ch == ".":
                self.pos += 1
                key = self.word()
                if not key:
                    raise self.error("a '.' must be followed by a key")
                parts.append(key)
            elif ch == "[":
                close = self.text.find("]", self.pos)
                if close < 0:
                    raise self.error("no closing ]")
                inner = self.text[self.pos + 1 : close].strip()
                self.pos = close + 1
                if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "\"'":
                    parts.append(inner[1:-1])
                else:
                    try:
                        parts.append(int(inner))
                    except ValueError:
                        raise self.error(f'[{inner}] is not an index; write [0], [-1] or ["key"]') from None
            else:
                return tuple(parts)

    def parse_type(self) -> tuple[str | None, Hint | None]:
        begin = self.pos
        while self.peek() and self.peek() not in " \t\r\n/|}":
            self.pos += 1
        name = self.text[begin : self.pos]
        name = TYPE_ALIASES.get(name, name)
        if self.peek() == "/":
            self.pos += 1
            begin = self.pos
            while self.peek() and self.peek() not in "|}":
                self.pos += 1
            args = [a.strip() for a in self.text[begin : self.pos].split(",")]
            args = [a for a in args if a]
            if name == "select":
                if not args:
                    raise self.error("select needs options: as select/a,b,c")
                return None, SelectHint(tuple(args))  # typed by the field it fills, else text
            if name == "slider":
                try:
                    numbers = [float(a) for a in args]
                except ValueError:
                    raise self.error("slider takes numbers: as slider/min,max,step") from None
                if len(numbers) not in (2, 3) or numbers[0] >= numbers[1]:
                    raise self.error("slider takes min,max[,step] with min < max")
                nums = [
                    int(n) if n.is_integer() and "." not in a and "e" not in a.lower() else n
                    for n, a in zip(numbers, args, strict=True)
                ]
                step = nums[2] if len(nums) == 3 else None
                kind = "integer" if all(isinstance(n, int) for n in nums) else "number"
                return kind, SliderHint(nums[0], nums[1], step)
            raise self.error(f"type {name!r} takes no '/' options (only select and slider do)")
        if name in HINTS:
            raise self.error(f"{name} needs its options: as select/a,b,c or as slider/min,max,step")
        if name not in TYPES:
            raise self.error(f"unknown type {name!r}; use one of {', '.join(TYPES)}, select/..., slider/...")
        return name, None

    def parse_default(self) -> tuple[str, bool, list[Binding]]:
        self.skip_ws()
        quote = self.peek()
        if quote in ("'", '"'):
            close = self.text.find(quote, self.pos + 1)
            if close < 0:
                raise self.error(f"no closing {quote} in the default")
            value = self.text[self.pos + 1 : close]
            self.pos = close + 1
            self.skip_ws()
            return value, True, []
        begin = self.pos
        depth = 0
        nested: list[Binding] = []
        while True:
            ch = self.peek()
            if not ch:
                raise self.error("no closing }")
            if self.text.startswith(ESCAPE, self.pos):
                self.pos += len(ESCAPE)
                depth += 1
            elif self.text.startswith("${", self.pos):
                inner, inner_nested = _Parser(self.text, self.pos + 2).parse()
                nested.append(inner)
                nested.extend(inner_nested)
                self.pos = inner.end
            elif ch == "{":
                depth += 1
                self.pos += 1
            elif ch == "}":
                if depth == 0:
                    break
                depth -= 1
                self.pos += 1
            else:
                self.pos += 1
        return self.text[begin : self.pos].strip(), False, nested


def _scan(text: str) -> Iterator[str | tuple[Binding, list[Binding]]]:
    """Literal text pieces and parsed bindings, left to right."""
    pos = 0
    literal: list[str] = []
    while True:
        at = text.find("$", pos)
        if at < 0:
            literal.append(text[pos:])
            break
        if text.startswith(ESCAPE, at):
            literal.append(text[pos:at] + "${")
            pos = at + len(ESCAPE)
            continue
        if text.startswith("${", at):
            literal.append(text[pos:at])
            if any(literal):
                yield "".join(literal)
            literal = []
            parsed = _Parser(text, at + 2).parse()
            yield parsed
            pos = parsed[0].end
            continue
        literal.append(text[pos : at + 1])
        pos = at + 1
    if any(literal):
        yield "".join(literal)


def contains_binding(value: Any) -> bool:
    """True when ``value`` (or anything inside a list/dict) holds a ``${`` that is not ``$${``.

    >>> contains_binding({"a": ["x", "${input.y}"]}), contains_binding("$${input.y}")
    (True, False)
    """
    if isinstance(value, str):
        pos = 0
        while True:
            at = value.find("${", pos)
            if at < 0:
                return False
            if at == 0 or value[at - 1] != "$":
                return True
            pos = at + 2
    if isinstance(value, Mapping):
        return any(contains_binding(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_binding(v) for v in value)
    return False


def find_bindings(value: Any) -> list[Binding]:
    """Every binding in ``value`` (strings inside lists/dicts too), defaults' bindings included.

    Positions are offsets in the string each binding was found in. Raises
    :class:`BindingError` on a malformed ``${...}``.

    >>> [(b.source, b.name, b.default) for b in find_bindings("${input.a | ${env.B}}")]
    [('input', 'a', '${env.B}'), ('env', 'B', None)]
    """
    found: list[Binding] = []
    for _, binding in iter_bindings(value):
        found.append(binding)
    return found


def iter_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, string) for every string in ``value``; ``path`` extends ``path`` with the
    ``.key`` / ``[i]`` of the containers it is in."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from iter_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from iter_strings(item, f"{path}[{index}]")


def iter_bindings(value: Any, path: str = "") -> Iterator[tuple[str, Binding]]:
    """(path, binding) pairs for every binding in ``value``, those inside defaults included."""
    for where, text in iter_strings(value, path):
        for piece in _scan(text):
            if isinstance(piece, tuple):
                binding, nested = piece
                yield where, binding
                for inner in nested:
                    yield where, inner


def bindings_in(text: str) -> list[Binding]:
    """The top-level bindings of one string (bindings inside their defaults left out)."""
    return [piece[0] for piece in _scan(text) if isinstance(piece, tuple)]


def parse_binding(text: str) -> Binding | None:
    """The binding when ``text`` is exactly one ``${...}`` (surrounding spaces allowed), else None."""
    stripped = text.strip()
    if not stripped.startswith("${"):
        return None
    pieces = list(_scan(stripped))
    if len(pieces) == 1 and isinstance(pieces[0], tuple):
        return pieces[0][0]
    return None


# --- resolving ---------------------------------------------------------------------


def resolve(value: Any, context: BindingContext, *, field_type: str | None = None) -> Any:
    """``value`` with its bindings replaced (lists and dicts are walked).

    ``field_type`` (one of :data:`TYPES`) is the type of the field the value fills: it
    types an untyped default and a string the binding reads.
    """
    if isinstance(value, str):
        return _resolve_text(value, context, field_type)
    if isinstance(value, Mapping):
        return {key: resolve(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, context) for item in value]
    return value


def _resolve_text(text: str, context: BindingContext, field_type: str | None) -> Any:
    pieces = list(_scan(text))
    if len(pieces) == 1 and isinstance(pieces[0], tuple) and text.strip() == pieces[0][0].raw:
        return _resolve_one(pieces[0][0], context, field_type, whole=True)
    if not any(isinstance(p, tuple) for p in pieces):
        return "".join(p for p in pieces if isinstance(p, str)) if pieces else text
    out: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
        else:
            out.append(render_text(_resolve_one(piece[0], context, "text", whole=False)))
    return "".join(out)


def _resolve_one(binding: Binding, context: BindingContext, field_type: str | None, *, whole: bool) -> Any:
    wanted = binding.type or field_type
    value = _lookup(binding, context)
    if value is MISSING:
        if binding.default is not None:
            if binding.default_quoted:
                default: Any = binding.default
            else:
                default = _resolve_text(binding.default, context, wanted)
            return convert(default, wanted, binding.raw) if isinstance(default, str) else default
        if binding.source == "env" and whole:
            context.notes.append(f"environment variable {binding.name} is not set; {binding.raw} is left empty")
            return None
        raise BindingError(f"{binding.raw}: {_missing_message(binding, context)}")
    if binding.type:
        return convert(value, binding.type, binding.raw)
    if isinstance(value, str) and field_type and field_type != "text":
        return convert(value, field_type, binding.raw)
    if field_type == "text" and isinstance(value, (int, float, bool)):
        return render_text(value)
    return value


def _lookup(binding: Binding, context: BindingContext) -> Any:
    """The value a binding reads, or MISSING when its source has none (the default applies)."""
    if binding.source == "env":
        name = str(binding.path[0])
        if name not in context.env:
            return MISSING
        context.env_used[name] = context.env[name]
        return context.env[name]
    if binding.source == "input":
        return _walk(context.inputs, binding.path, binding, missing_ok=True)
    if binding.source == "jobs":
        root = context.jobs.get(binding.job or "", MISSING)
    elif binding.source == "item":
        root = context.item
    else:  # output / result
        root = context.output
    return MISSING if root is MISSING else _walk(root, binding.path, binding)


def _walk(root: Any, path: tuple[str | int, ...], binding: Binding, *, missing_ok: bool = False) -> Any:
    """Follow ``path`` into ``root``. A missing input (or input key) is MISSING so the
    default applies; inside a job's output a wrong key is an error naming it."""
    value = root
    for depth, part in enumerate(path):
        if isinstance(value, Mapping):
            if part in value:
                value = value[part]
                continue
            if isinstance(part, int) and str(part) in value:
                value = value[str(part)]
                continue
            if missing_ok or binding.default is not None:
                return MISSING
            keys = ", ".join(map(str, list(value)[:20]))
            raise BindingError(f"{binding.raw}: no key {part!r} in {_where(binding, depth)} (keys: {keys})")
        if isinstance(value, (list, tuple)) and isinstance(part, int):
            if -len(value) <= part < len(value):
                value = value[part]
                continue
            if missing_ok or binding.default is not None:
                return MISSING
            raise BindingError(
                f"{binding.raw}: index {part} is out of range for {_where(binding, depth)} ({len(value)} items)"
            )
        if value is None and (missing_ok or binding.default is not None):
            return MISSING
        raise BindingError(f"{binding.raw}: {_where(binding, depth)} is {type(value).__name__}, it has no {part!r}")
    return value


def _where(binding: Binding, depth: int) -> str:
    head = f"the output of job `{binding.job}`" if binding.source == "jobs" else binding.source
    rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in binding.path[:depth])
    return head + rest


def _missing_message(binding: Binding, context: BindingContext) -> str:
    if binding.source == "input":
        if binding.name in context.inputs:
            return f"input `{binding.name}` has no {'.'.join(map(str, binding.path[1:]))}"
        return f"input `{binding.name}` is missing and has no default"
    if binding.source == "env":
        return f"environment variable {binding.name} is not set"
    if binding.source == "jobs":
        return f"job `{binding.job}` has no output yet (is it in depends_on?)"
    if binding.source == "item":
        return "there is no current item here"
    return f"${{{binding.source}}} is only available in a job's output:"


# --- typing ------------------------------------------------------------------------


def convert(value: Any, type_: str | None, what: str = "value") -> Any:
    """``value`` as ``type_`` (one of :data:`TYPES`; None leaves it alone).

    Strings are parsed (``"5e-5"`` -> 5e-05, ``"yes"`` -> True, ``"[1, 2]"`` -> [1, 2]);
    an empty string means "no value" (None) for every type but text.

    >>> convert("5e-5", "number"), convert("3", "number"), convert("4.0", "integer")
    (5e-05, 3, 4)
    """
    if type_ is None:
        return value
    if type_ == "text":
        return value if isinstance(value, str) else render_text(value)
    if isinstance(value, str) and value.strip() == "":
        return None
    if value is None:
        return None
    if type_ == "number":
        if isinstance(value, bool):
            raise BindingError(f"{what}: expected a number, got {value!r}")
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, str):
            text = value.strip()
            try:
                return int(text)
            except ValueError:
                pass
            try:
                parsed = float(text)
            except ValueError:
                raise BindingError(f"{what}: {value!r} is not a number") from None
            if math.isfinite(parsed):
                return parsed
        raise BindingError(f"{what}: expected a number, got {value!r}")
    if type_ == "integer":
        if isinstance(value, bool):
            raise BindingError(f"{what}: expected a whole number, got {value!r}")
        if isinstance(value, int):
            return value
        number: Any = value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                try:
                    number = float(value.strip())
                except ValueError:
                    number = None
        if isinstance(number, float) and number.is_integer():
            return int(number)
        raise BindingError(f"{what}: {value!r} is not a whole number")
    if type_ == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise BindingError(f"{what}: expected true or false, got {value!r}")
    if type_ == "json":
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            pass
        try:
            # YAML flow syntax too: [a, b], {k: v}; a bare word stays a string.
            return load_value(value)
        except yaml.YAMLError:
            raise BindingError(f"{what}: {value!r} is not valid JSON") from None
    raise BindingError(f"{what}: unknown type {type_!r}")


def render_text(value: Any) -> str:
    """How a value reads when a binding sits inside longer text.

    >>> render_text(True), render_text(None), render_text(0.5), render_text({"a": 1})
    ('true', '', '0.5', '{"a": 1}')
    """
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)
