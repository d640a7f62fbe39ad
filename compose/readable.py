"""Paths such as ``components[1].learning_rate`` in the document's own names."""

from __future__ import annotations

import re

from compose.schema.workflow import ComposeFile

_COMPONENT = re.compile(r"components\[(\d+)\]\.?(.*)")
_JOB = re.compile(r"workflows\[(\d+)\]\.jobs\[(\d+)\]\.?(.*)")


def readable_path(doc: ComposeFile, path: str) -> str:
    """``components[1].learning_rate`` -> ``trainer.learning_rate``;
    ``workflows[0].jobs[2].input.template`` -> ``job train: input.template``.
    A path that names nothing in ``doc`` comes back as it was."""
    match = _COMPONENT.fullmatch(path)
    if match and int(match[1]) < len(doc.components):
        component = doc.components[int(match[1])].id
        return f"{component}.{match[2]}" if match[2] else component
    match = _JOB.fullmatch(path)
    if match and int(match[1]) < len(doc.workflows) and int(match[2]) < len(doc.workflows[int(match[1])].jobs):
        job = doc.workflows[int(match[1])].jobs[int(match[2])].id
        return f"job {job}: {match[3]}" if match[3] else f"job {job}"
    return path
