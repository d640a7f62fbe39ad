"""Apply editor changes to a document's YAML text and place problems beside form fields.

Edits go through ``compose.exporter.set_field``/``remove_field``, which change only the
touched keys and keep comments and key order everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compose.errors import Problem
from compose.loader import ParseResult
from compose.yamlio.paths import split

from .component import REMOVE


def written_paths(result: ParseResult, base_path: str, names: Iterable[str]) -> dict[str, str]:
    """{field name: the path where the text writes it}; nested-dialect keys keep their place."""
    from compose.loader import written_path

    return {name: written_path(result, f"{base_path}.{name}") for name in names}


def apply_changes(text: str, result: ParseResult, base_path: str, changes: Iterable[tuple[str, Any]]) -> str:
    """``changes`` are (dotted name under the model path ``base_path``, value or REMOVE);
    ``result`` is the parse of ``text``, used to find where each field is written."""
    from compose.exporter import remove_field, set_field

    changes = list(changes)
    paths = written_paths(result, base_path, [name for name, _ in changes])
    for name, value in changes:
        path = paths[name]
        text = remove_field(text, path) if value is REMOVE else set_field(text, path, value)
    return text


def _relative(problem_path: str, base_path: str) -> str | None:
    if problem_path == base_path:
        return ""
    if problem_path.startswith(base_path + ".") or problem_path.startswith(base_path + "["):
        return problem_path[len(base_path) :].lstrip(".")
    return None


def place_problems(
    problems: Iterable[Problem], base_path: str, field_names: Iterable[str], field_paths: dict[str, str] | None = None
) -> tuple[dict[str, list[str]], list[Problem]]:
    """Split problems into {form field name: [messages]} for ``base_path`` and the rest.

    ``field_paths`` maps field names to where the text writes them (see :func:`written_paths`),
    so ``components[0].lora.rank`` lands on ``lora_r``. Otherwise ``components[2].resources.gpus``
    lands on ``resources.gpus``, and a path below a field (``components[2].data_files.train``)
    on the field.
    """
    names = set(field_names)
    by_written = sorted(((path, name) for name, path in (field_paths or {}).items()), key=lambda item: -len(item[0]))
    by_field: dict[str, list[str]] = {}
    rest: list[Problem] = []
    for problem in problems:
        path = problem.path or ""
        target = next(
            (
                name
                for written, name in by_written
                if path == written or path.startswith(written + ".") or path.startswith(written + "[")
            ),
            None,
        )
        relative = _relative(path, base_path) if target is None else None
        if relative:
            segments = [s for s in split(relative) if isinstance(s, str)]
            for end in range(len(segments), 0, -1):
                candidate = ".".join(segments[:end])
                if candidate in names:
                    target = candidate
                    break
            if target is None:
                target = next((s for s in reversed(segments) if s in names), None)
        if target is None:
            rest.append(problem)
        else:
            by_field.setdefault(target, []).append(problem.message)
    return by_field, rest
