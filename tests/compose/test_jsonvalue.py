"""compose.jsonvalue.jsonable: one conversion to strict JSON for summaries, events and outputs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from compose.errors import Problem
from compose.jsonvalue import jsonable


@dataclass
class Point:
    x: float
    where: Path


class Model(BaseModel):
    name: str
    rate: float


def test_core_objects_become_plain_json() -> None:
    value = {
        "p": Point(1.5, Path("/tmp/a")),
        "m": Model(name="a", rate=0.1),
        "problem": Problem("components[0].x", "bad", line=3),
        "t": (1, "2"),
    }
    out = jsonable(value)
    assert out["p"] == {"x": 1.5, "where": "/tmp/a"}
    assert out["m"] == {"name": "a", "rate": 0.1}
    assert out["problem"]["path"] == "components[0].x" and out["problem"]["line"] == 3
    assert out["t"] == [1, "2"]
    json.dumps(out, allow_nan=False)


def test_non_finite_numbers_become_null_anywhere() -> None:
    out = jsonable({"loss": float("nan"), "curve": [1.0, float("inf"), -float("inf")], 2: True})
    assert out == {"loss": None, "curve": [1.0, None, None], "2": True}
    json.dumps(out, allow_nan=False)


def test_classes_and_unknown_objects_are_their_text() -> None:
    assert jsonable(Point) == str(Point)
    assert jsonable({1, 2}) in ("{1, 2}", "{2, 1}")
