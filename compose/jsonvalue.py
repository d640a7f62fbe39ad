"""Any value from the compose core, a runner event or a job's output as strict JSON.

>>> jsonable({"loss": float("nan"), "steps": (1, 2), 3: b"x"})
{'loss': None, 'steps': [1, 2], '3': "b'x'"}
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any


def jsonable(value: Any) -> Any:
    """Dataclasses, pydantic models and objects with ``to_dict`` become their fields; tuples
    lists; keys text; NaN and infinities null (a database JSON column refuses them); anything
    else unknown its text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, type):
        return str(value)
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # (classes: above)
        return jsonable(dataclasses.asdict(value))
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump(mode="json"))
    return str(value)
