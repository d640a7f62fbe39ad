"""Seeded mutants of real compose files, for the tests that feed broken YAML everywhere.

Each mutant applies one to three edits a person (or a fuzzer) could make to a file:
flipped bytes, deleted or doubled lines, shifted indentation, control characters, YAML
tags, anchors and aliases, a cut-off end. The same seed gives the same mutants, so a
failure names a mutant that can be rebuilt and read.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.compose.seed_blocks import find_seed, seed_blocks

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BAD = Path(__file__).resolve().parent / "bad"

CONTROL_CHARS = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)] + [
    "\x85",
    "\ufeff",
    "\u2028",
    "\ud800",
    "\ufffe",
]
TAGS = [
    "!!float ",
    "!!bool ",
    "!!int ",
    "!!str ",
    "!!null ",
    "!!map ",
    "!!seq ",
    "!!binary ",
    "!!timestamp ",
    "!!set ",
    "!!omap ",
    "!!pairs ",
    "!!merge ",
    "!custom ",
    "!!python/name:os.system ",
    "!<tag:yaml.org,2002:int> ",
    "! ",
]
ODD_VALUES = [
    "0x1F",
    "0o17",
    "1_000",
    "12:30:00",
    "2001-13-45",
    ".inf",
    "-.NaN",
    "~",
    "[]",
    "{}",
    "{x: 1}",
    "[1, [2, [3]]]",
    "? a",
    "|",
    ">-",
    "'",
    '"',
    "`x`",
    "@x",
    "%x",
    "9" * 5000,
]


@dataclass(frozen=True)
class Mutant:
    name: str  # "<source>#<number>: <edits>", enough to rebuild and read it
    text: str


def sources() -> list[tuple[str, str]]:
    """(name, text) of the example files, the broken-file corpus and, where the chapter sits
    beside the clone, every yaml block of the seed chapter."""
    paths = sorted(EXAMPLES.glob("*.yaml")) + sorted(BAD.glob("*.yaml"))
    found = [(path.name, path.read_text(encoding="utf-8")) for path in paths]
    if find_seed() is not None:
        found += [(f"seed {block.name}", block.text) for block in seed_blocks()]
    return found


def mutants(count: int, seed: int = 20261204, originals: Sequence[tuple[str, str]] = ()) -> Iterator[Mutant]:
    """``count`` mutants of ``originals`` (default: :func:`sources`), the same for one seed."""
    rng = random.Random(seed)
    pool = list(originals) or sources()
    for number in range(count):
        source, text = pool[number % len(pool)]
        names = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            edit = rng.choice(EDITS)
            text = edit(rng, text)
            names.append(edit.__name__.lstrip("_"))
        yield Mutant(f"{source}#{number}: {', '.join(names)}", text)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) or [""]


def _flip_byte(rng: random.Random, text: str) -> str:
    raw = bytearray(text.encode("utf-8", "surrogatepass"))
    if not raw:
        return text
    index = rng.randrange(len(raw))
    raw[index] ^= 1 << rng.randrange(8)
    return raw.decode("utf-8", errors="replace")


def _delete_line(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    del lines[rng.randrange(len(lines))]
    return "".join(lines)


def _duplicate_line(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    index = rng.randrange(len(lines))
    lines.insert(index, lines[index])
    return "".join(lines)


def _indent(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    index = rng.randrange(len(lines))
    line = lines[index]
    change = rng.choice(("add", "remove", "tab"))
    if change == "add":
        lines[index] = " " * rng.randint(1, 4) + line
    elif change == "remove":
        lines[index] = line[min(rng.randint(1, 4), len(line) - len(line.lstrip(" "))) :]
    else:
        lines[index] = "\t" + line.lstrip(" ")
    return "".join(lines)


def _control_char(rng: random.Random, text: str) -> str:
    index = rng.randrange(len(text) + 1)
    return text[:index] + rng.choice(CONTROL_CHARS) + text[index:]


def _value_position(rng: random.Random, text: str) -> int:
    """Just after a ``key: `` or ``- `` of a random line, else a random position."""
    lines = _lines(text)
    index = rng.randrange(len(lines))
    line = lines[index]
    start = sum(len(line) for line in lines[:index])
    for marker in (": ", "- "):
        at = line.find(marker)
        if at >= 0:
            return start + at + len(marker)
    return rng.randrange(len(text) + 1)


def _tag(rng: random.Random, text: str) -> str:
    at = _value_position(rng, text)
    return text[:at] + rng.choice(TAGS) + text[at:]


def _odd_value(rng: random.Random, text: str) -> str:
    at = _value_position(rng, text)
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    return text[:at] + rng.choice(ODD_VALUES) + text[end:]


def _anchor_alias(rng: random.Random, text: str) -> str:
    """An anchor on one value and an alias (or a merge) somewhere else; sometimes only the alias,
    sometimes the alias inside its own anchor."""
    name = rng.choice(("a", "base", "x1"))
    kind = rng.choice(("pair", "pair", "undefined", "recursive", "merge"))
    if kind == "recursive":
        at = _value_position(rng, text)
        return text[:at] + f"&{name} [*{name}, " + text[at:].replace("\n", "]\n", 1)
    if kind != "undefined":
        at = _value_position(rng, text)
        text = text[:at] + f"&{name} " + text[at:]
    at = _value_position(rng, text)
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    value = f"{{<<: *{name}}}" if kind == "merge" else f"*{name}"
    return text[:at] + value + text[end:]


def _truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(len(text) + 1)]


EDITS: tuple[Callable[[random.Random, str], str], ...] = (
    _flip_byte,
    _flip_byte,
    _delete_line,
    _duplicate_line,
    _indent,
    _indent,
    _control_char,
    _tag,
    _odd_value,
    _anchor_alias,
    _anchor_alias,
    _truncate,
)
