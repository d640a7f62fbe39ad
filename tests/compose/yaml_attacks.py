"""Hostile and broken YAML texts the core, the CLI and the web tests all feed in."""

from __future__ import annotations


def billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: 9 lines, about 400 bytes, 9**9 values once expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        name, below = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{','.join([f'*{below}'] * 9)}]")
    return "\n".join(lines) + "\n"


def mapping_bomb(levels: int = 9) -> str:
    """The same, built of mappings."""
    lines = ["a: &a {x: lol, y: lol, z: lol, u: lol, v: lol, w: lol, p: lol, q: lol, r: lol}"]
    for level in range(1, levels):
        name, below = chr(ord("a") + level), chr(ord("a") + level - 1)
        pairs = ", ".join(f"k{i}: *{below}" for i in range(9))
        lines.append(f"{name}: &{name} {{{pairs}}}")
    return "\n".join(lines) + "\n"


def long_text_bomb(length: int = 100_000, uses: int = 100) -> str:
    """One long value aliased many times: few values, a great deal of text."""
    return f'a: &a "{"x" * length}"\nb: [{", ".join(["*a"] * uses)}]\n'


BOMBS = {"billion laughs": billion_laughs(), "mapping bomb": mapping_bomb(), "long text bomb": long_text_bomb()}

# Each crashed `compose validate` (and answered HTTP 500) before: (text, line, column) of
# the problem it must come back as.
CRASHES = {
    "float tag": ("components:\n  - id: t\n    learning_rate: !!float x\n", 3, 20),
    "bool tag": ("components:\n  - id: t\n    bf16: !!bool maybe\n", 3, 11),
    "timestamp tag": ("a: !!timestamp 2001-13-45\n", 1, 4),
    "5,000-digit integer": ("components:\n  - id: t\n    type: model-trainer\n    lora_r: " + "9" * 5000 + "\n", 4, 13),
    "mapping as a type": ("components:\n  - id: t\n    type: {x: 1}\n", 3, 5),
    "mapping as a method": (
        "components:\n  - id: t\n    type: datasets\n    method: {x: 1}\nworkflows:\n"
        "  - id: w\n    jobs:\n      - id: j\n        component: t\n",
        4,
        5,
    ),
    "recursive alias": ("components:\n  - &c {id: t, type: model-trainer, self: *c}\n", 2, 43),
    "5,000-deep flow nesting": ("a: " + "[" * 5000 + "]" * 5000 + "\n", 1, 67),
    "control character": ("components:\n  - id: t\x01\n", 2, 10),
    "empty file": ("", 1, 1),
}
