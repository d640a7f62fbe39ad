"""One duration format: compose.humanize in Python, fmt.duration in static/js/format.js."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from compose.humanize import human_duration

FORMAT_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "format.js"

TABLE = [
    (None, "—"),
    (0, "0 s"),
    (0.4, "0 s"),
    (2.5, "3 s"),
    (5, "5 s"),
    (59.4, "59 s"),
    (60, "1 min"),
    (75, "1 min 15 s"),
    (3599, "59 min 59 s"),
    (3600, "1 h"),
    (3660, "1 h 1 min"),
    (47 * 3600 + 59 * 60, "47 h 59 min"),
    (48 * 3600, "2 d 0 h"),
    (3 * 86400 + 3600, "3 d 1 h"),
]


@pytest.mark.parametrize(("seconds", "text"), TABLE)
def test_python_durations(seconds: float | None, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run static/js/format.js")
def test_the_page_script_writes_durations_as_the_server_does() -> None:
    script = (
        "global.window = {};\n"
        + FORMAT_JS.read_text()
        + f"\nconsole.log(JSON.stringify({json.dumps([s for s, _ in TABLE])}.map(window.fmt.duration)));"
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(out.stdout) == [human_duration(s) for s, _ in TABLE]
