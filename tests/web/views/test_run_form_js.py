"""The run form's count of a sweep's runs (static/js/run_form.js) reads the values as the
server does (compose.sweep.split_values), so the number shown is the number queued."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from compose.sweep import split_values

RUN_FORM_JS = Path(__file__).resolve().parents[3] / "static" / "js" / "run_form.js"
CASES = [
    ("", "number"),
    ("1e-4, 5e-5, 2e-5", "number"),
    ("8, 16,", "integer"),
    (",,,", "integer"),
    (" a ,, b ", "text"),
    ('["a, b", "c"]', "text"),
    ("[[0, 1], [2, 3]]", "json"),
    ("[1, 2, 3]", "number"),
    ("true, false", "boolean"),
    ("[1, 2", "number"),
    ('{"a": 1}', "json"),
    ("0, 1", "json"),
]

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run static/js/run_form.js")


def _python_count(text: str, type_: str) -> int | None:
    try:
        return len(split_values(text, type_)) if text.strip() else 0
    except ValueError:
        return None


def test_the_page_counts_values_as_the_server_splits_them() -> None:
    script = (
        "global.window = {};\n"
        + RUN_FORM_JS.read_text()
        + f"\nconsole.log(JSON.stringify({json.dumps(CASES)}.map(function (c) {{"
        " return window.sweepValueCount(c[0], c[1]); })));"
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(out.stdout) == [_python_count(text, type_) for text, type_ in CASES]
