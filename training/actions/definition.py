"""The JSON summary of a compose file stored on ``ComposeDocument.definition``."""
from __future__ import annotations

import dataclasses
from typing import Any

from compose.errors import ComposeError, Problem


def jsonable(value: Any) -> Any:
    """Dataclasses and pydantic models from the compose core as plain JSON values."""
    if hasattr(value, "to_dict") and not isinstance(value, type):
        return jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump(mode="json"))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


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
        workflows.append({
            "id": wf.id,
            "title": wf.title,
            "default": wf.default,
            "jobs": [{"id": j.id, "component": j.component, "method": j.method,
                      "depends_on": list(j.depends_on)} for j in wf.jobs],
            "inputs": inputs,
        })
    return {"components": components, "workflows": workflows,
            "problems": [p.to_dict() for p in problems]}
