"""The JSON summary of a compose file stored on ``ComposeDocument.definition``."""

from __future__ import annotations

from typing import Any

from compose.errors import ComposeError, Problem
from compose.jsonvalue import jsonable


def summarize(yaml_text: str) -> dict[str, Any]:
    """Components, workflows (jobs, inputs) and problems (errors and warnings) of a file.

    A file with errors still gets a summary of whatever could be read: its ``problems``
    list them and the document keeps the text as written.
    """
    from compose.inputs import workflow_inputs
    from compose.loader import parse

    result = parse(yaml_text)
    problems: list[Problem] = list(result.problems)
    doc = result.file
    if doc is None:
        return {"components": [], "workflows": [], "problems": [p.to_dict() for p in problems]}
    components = [
        {"id": c.id, "type": c.type, "task": c.fields.get("task"), "method": c.fields.get("method")}
        for c in doc.components
    ]
    workflows = []
    for wf in doc.workflows:
        inputs: Any = []
        if result.ok:
            try:
                inputs = jsonable(workflow_inputs(doc, wf.id))
            except ComposeError as exc:
                problems.extend(exc.problems)
        workflows.append(
            {
                "id": wf.id,
                "title": wf.title,
                "default": wf.default,
                "jobs": [
                    {"id": j.id, "component": j.component, "method": j.method, "depends_on": list(j.depends_on)}
                    for j in wf.jobs
                ],
                "inputs": inputs,
            }
        )
    return {"components": components, "workflows": workflows, "problems": [p.to_dict() for p in problems]}
