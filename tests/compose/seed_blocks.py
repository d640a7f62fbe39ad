"""The ```yaml blocks of the user's chapter on training, read from the document itself.

The chapter lives beside the clone in ``../shared/seed/``; nothing here retypes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

SEED_NAME = "09-model-training.ko.md"
# ``shared/`` sits beside the clone: <parent>/shared/seed and <parent>/<clone>/tests/compose.
SEED_CANDIDATES = (Path(__file__).resolve().parents[2].parent / "shared" / "seed" / SEED_NAME,)

_HEADING = re.compile(r"^(#{2,4})\s+(\d+(?:\.\d+)+)\s*(.*)$")
_LABEL = re.compile(r"^\*\*(.+?)\*\*\s*$")


@dataclass(frozen=True)
class SeedBlock:
    section: str  # "9.2.4"
    title: str  # the section's heading text
    label: str  # the bold line just above the block, if any ("데이터셋 병합:")
    line: int  # 1-based line of the block's first YAML line in the chapter
    text: str

    @property
    def data(self) -> dict:
        return yaml.safe_load(self.text)

    @property
    def name(self) -> str:
        return f"{self.section}@{self.line}"

    def has(self, key: str) -> bool:
        return key in self.data


def find_seed() -> Path | None:
    return next((candidate for candidate in SEED_CANDIDATES if candidate.is_file()), None)


def missing_seed_message() -> str:
    return (
        f"{SEED_NAME} not found (looked in: {', '.join(map(str, SEED_CANDIDATES))}): "
        "the tests of the seed chapter's examples are skipped; they run where ../shared sits beside the clone"
    )


def seed_path() -> Path:
    """The chapter; where it is missing (a bare clone), the test or module asking is skipped."""
    found = find_seed()
    if found is None:
        import pytest

        pytest.skip(missing_seed_message(), allow_module_level=True)
    return found


@lru_cache(maxsize=1)
def seed_blocks() -> tuple[SeedBlock, ...]:
    """Every ```yaml block of the chapter, in order, with the section it sits in."""
    lines = seed_path().read_text(encoding="utf-8").splitlines()
    blocks: list[SeedBlock] = []
    section, title, label = "", "", ""
    index = 0
    while index < len(lines):
        line = lines[index]
        heading = _HEADING.match(line)
        if heading:
            section, title, label = heading.group(2), heading.group(3).strip(), ""
        elif _LABEL.match(line):
            label = _LABEL.match(line).group(1)
        elif line.strip() == "```yaml":
            start = index + 1
            end = start
            while lines[end].strip() != "```":
                end += 1
            blocks.append(SeedBlock(section, title, label, start + 1, "\n".join(lines[start:end]) + "\n"))
            index = end
        index += 1
    return tuple(blocks)


def block(section: str, label: str = "") -> SeedBlock:
    """The one block of ``section`` (whose label contains ``label`` when given)."""
    found = [b for b in seed_blocks() if b.section == section and label in b.label]
    if len(found) != 1:
        raise LookupError(f"{len(found)} seed blocks match section {section} label {label!r}")
    return found[0]
