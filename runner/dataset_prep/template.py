"""``map`` templates: ``{column}`` placeholders, ``{{`` and ``}}`` for literal braces.

A template is parsed once into a positional format string, and a batch is rendered with
one ``str.format`` per row. A missing value (None) renders as an empty string. Before a
batch is rendered its size is checked against :mod:`runner.dataset_prep.limits`: ``{text}``
written 30,000 times would otherwise turn a 1 KB row into 30 MB.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from compose.jobspec import JobFailed
from runner.dataset_prep.limits import MAX_BATCH_BUILT, MAX_LENGTH, MAX_SOURCE_LENGTH


class TemplateError(ValueError):
    pass


@dataclass
class Template:
    source: str
    format: str  # positional, for display: "{0}: {1}"
    columns: tuple[str, ...]  # the column of each position
    literals: tuple[str, ...]  # the text around the placeholders: len(columns) + 1 pieces

    def render(self, batch: dict[str, list], n: int) -> list[str]:
        if not self.columns:
            return [self.format.format()] * n
        texts = {name: _texts(batch[name]) for name in self.counts}
        lengths = {name: list(map(len, column)) for name, column in texts.items()}

        def longest_row() -> int:
            return max(map(sum, zip(*([k * size for size in lengths[c]] for c, k in self.counts.items()), strict=True)))

        self.check_size(
            {c: max(v, default=0) for c, v in lengths.items()}, {c: sum(v) for c, v in lengths.items()}, n, longest_row
        )
        # printf-style formatting of a tuple is close to an f-string's speed; str.format is
        # about twice as slow per row.
        pattern = self.pattern
        return [pattern % row for row in zip(*(texts[name] for name in self.columns), strict=True)]

    @cached_property
    def counts(self) -> Counter:
        """How many placeholders name each column."""
        return Counter(self.columns)

    def check_size(
        self, longest: dict[str, int], total: dict[str, int], n: int, longest_row: Callable[[], int]
    ) -> None:
        """Refuse a batch whose rendering would pass a limit; the exact ``longest_row`` only when the bound fails.

        What the batch already holds (one copy of each column) is free; the literal text and
        every further copy of a column count against ``MAX_BATCH_BUILT``.
        """
        fixed = sum(map(len, self.literals))
        if fixed + sum(k * longest[c] for c, k in self.counts.items()) > MAX_LENGTH:
            size = longest_row() + fixed
            if size > MAX_LENGTH:
                raise JobFailed(
                    f"map template: a row would be a string of {size:,} characters; the limit is {MAX_LENGTH:,}"
                )
        built = fixed * n + sum((k - 1) * total[c] for c, k in self.counts.items())
        if built > MAX_BATCH_BUILT:
            raise JobFailed(
                f"map template: {n:,} rows would build {built:,} characters beyond their own "
                f"values; the limit for a batch is {MAX_BATCH_BUILT:,}"
            )

    @cached_property
    def pattern(self) -> str:
        """The template as a ``%s`` pattern (literal ``%`` doubled), in the order of ``columns``."""
        return _to_percent(self.format)


def parse_template(source: str) -> Template:
    """Split a template into literal text and column placeholders.

    >>> parse_template("Q: {instruction}\\nA: {output} {{raw}}").columns
    ('instruction', 'output')
    """
    if len(source) > MAX_SOURCE_LENGTH:
        raise TemplateError(f"template is {len(source):,} characters long; the limit is {MAX_SOURCE_LENGTH:,}")
    pieces: list[str] = []
    columns: list[str] = []
    literals: list[str] = []
    text: list[str] = []
    i, size = 0, len(source)
    while i < size:
        char = source[i]
        if char == "{" and source.startswith("{{", i):
            pieces.append("{{")
            text.append("{")
            i += 2
        elif char == "}" and source.startswith("}}", i):
            pieces.append("}}")
            text.append("}")
            i += 2
        elif char == "{":
            end = source.find("}", i + 1)
            if end < 0:
                raise TemplateError(_at(source, i, "'{' is never closed (write {{ for a literal brace)"))
            name = source[i + 1 : end].strip()
            if not name or "{" in name:
                raise TemplateError(_at(source, i, "a placeholder needs a column name, e.g. {text}"))
            pieces.append("{" + str(len(columns)) + "}")
            columns.append(name)
            literals.append("".join(text))
            text = []
            i = end + 1
        elif char == "}":
            raise TemplateError(_at(source, i, "'}' without an opening '{' (write }} for a literal brace)"))
        else:
            pieces.append(char)
            text.append(char)
            i += 1
    literals.append("".join(text))
    return Template(source=source, format="".join(pieces), columns=tuple(columns), literals=tuple(literals))


def render_arrow(template: Template, arrays: dict[str, Any]):
    """Render text columns with Arrow's string kernels (no Python object per row).

    Only for columns whose values are text: Arrow would write numbers differently from
    Python (``2`` for ``2.0``), so the caller uses :meth:`Template.render` for those.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    _check_arrow_size(template, arrays)
    wide = any(pa.types.is_large_string(arrays[name].type) for name in template.columns)
    kind = pa.large_string() if wide else pa.string()
    parts: list[Any] = []
    for literal, name in zip(template.literals, template.columns, strict=False):
        if literal:
            parts.append(pa.scalar(literal, type=kind))
        parts.append(pc.fill_null(arrays[name].cast(kind), pa.scalar("", type=kind)))
    if template.literals[-1]:
        parts.append(pa.scalar(template.literals[-1], type=kind))
    return pc.binary_join_element_wise(*parts, pa.scalar("", type=kind))


def _check_arrow_size(template: Template, arrays: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths = {name: pc.fill_null(pc.utf8_length(arrays[name]), 0) for name in template.counts}
    if not lengths:
        return
    n = len(next(iter(lengths.values())))

    def longest_row() -> int:
        rows = pa.scalar(0, pa.int64())
        for name, k in template.counts.items():
            rows = pc.add(rows, pc.multiply(lengths[name].cast(pa.int64()), k))
        return pc.max(rows).as_py() or 0

    template.check_size(
        {c: pc.max(v).as_py() or 0 for c, v in lengths.items()},
        {c: pc.sum(v).as_py() or 0 for c, v in lengths.items()},
        n,
        longest_row,
    )


def _texts(column: list) -> list:
    """The column as ``%s`` writes it, None as an empty string, so lengths can be checked first."""
    if set(map(type, column)) <= {str}:
        return column
    return ["" if v is None else v if type(v) is str else str(v) for v in column]


def check_columns(template: Template, columns: Sequence[str]) -> None:
    missing = [name for name in dict.fromkeys(template.columns) if name not in columns]
    if missing:
        hints = [h for name in missing for h in difflib.get_close_matches(name, list(columns), n=1)]
        extra = f" (did you mean {', '.join(repr(h) for h in hints)}?)" if hints else ""
        raise TemplateError(
            f"template placeholder {', '.join('{' + m + '}' for m in missing)} names no "
            f"column{extra}; the columns are: {', '.join(columns)}"
        )


def _at(source: str, index: int, message: str) -> str:
    return f"template: {message} at character {index + 1}\n  {source}\n  {' ' * index}^"


def _to_percent(positional: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(positional):
        if positional.startswith(("{{", "}}"), i):
            out.append(positional[i])
            i += 2
        elif positional[i] == "{":
            end = positional.index("}", i)
            out.append("%s")
            i = end + 1
        else:
            out.append("%%" if positional[i] == "%" else positional[i])
            i += 1
    return "".join(out)
