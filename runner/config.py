"""A job's config checked against its canonical model, failing as a plain job error."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from compose.jobspec import JobFailed
from compose.schema.components import COMPONENT_ADAPTER

M = TypeVar("M", bound=BaseModel)


def validated_config(model: type[M], config: dict[str, Any], what: str) -> M:
    """``config`` validated by the component union (``type``, then a datasets ``method``,
    picks the model), which must pick ``model``; every problem named by its field in one
    message."""
    config = {"type": model.model_fields["type"].default, **config}
    try:
        value = COMPONENT_ADAPTER.validate_python(config)
    except ValidationError as exc:
        # The location starts with the tags the union went by: the type, and a datasets method.
        tags = 2 if config["type"] == "datasets" else 1
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'][tags:]) or 'config'}: {err['msg']}" for err in exc.errors()
        )
        raise JobFailed(f"invalid {what}: {problems}") from None
    if not isinstance(value, model):
        raise JobFailed(f"invalid {what}: a {type(value).__name__} config (type {config['type']!r}) was given")
    return value
