"""How much YAML compose-web reads: one place for the CLI, the core and the web.

A compose file is a few kilobytes, a handful of levels deep, with an alias or two. The
limits sit far above that and far below what hurts: an alias bomb ("billion laughs")
is 415 bytes of text that expands to a billion values, and every walk over the data
(locating paths, validating, exporting) pays for the expanded size, not the text's.
"""

from __future__ import annotations

from yaml.error import Mark, MarkedYAMLError

from compose.errors import Problem

# Text larger than this is refused before it is parsed. The import form's upload limit
# (1 MB) is the same number.
MAX_BYTES = 1_000_000
# Values in the document with every alias expanded (a key counts as one). A large
# compose file has a few hundred; 100,000 are read and checked in under a second.
MAX_NODES = 100_000
# Characters of the document's scalars with every alias expanded: one 100 KB value
# aliased a thousand times is a handful of values but 100 MB once exported or sent on.
MAX_EXPANDED_CHARS = 4 * MAX_BYTES
# Times an *alias may be used in one document.
MAX_ALIASES = 1_000
# Nesting of mappings and lists, aliases expanded. Compose files nest under ten levels;
# code that walks the data recursively stays far from Python's recursion limit.
MAX_DEPTH = 64


class YamlLimitError(MarkedYAMLError):
    """The document is over one of the limits above; ``problem_mark`` says where."""

    def __init__(self, problem: str, mark: Mark | None):
        super().__init__(problem=problem, problem_mark=mark)


def size_problem(size: int, source: str | None = None) -> Problem | None:
    """The problem of a text of ``size`` bytes, or None when it is within :data:`MAX_BYTES`."""
    if size <= MAX_BYTES:
        return None
    return Problem(
        "",
        f"the file is {size:,} bytes; a compose file may be at most {MAX_BYTES:,} bytes, so it was not read",
        1,
        1,
        source=source,
    )


def text_size(text: str) -> int:
    """Size of ``text`` in UTF-8, without encoding a text that is too large anyway."""
    if len(text) > MAX_BYTES:
        return len(text)  # a lower bound, and already over the limit
    return len(text.encode("utf-8", "surrogatepass"))
