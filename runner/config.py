"""A job's config checked against its canonical model, failing as a plain job error."""
from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from compose.jobspec import JobFailed

M = TypeVar("M", bound=BaseModel)


def validated_config(model: type[M], config: dict[str, Any], what: str) -> M:
    """``model`` built from ``config``; every problem named by its field in one message."""
    try:
        return model.model_validate(config)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
                             for err in exc.errors())
        raise JobFailed(f"invalid {what}: {problems}") from None
