"""The page's live formatting (static/js/format.js) writes numbers and relative times as the
server's template filters do, so a value drawn live reads the same after a reload."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from training.templatetags.compose_ui import format_number, relative_time

FORMAT_JS = Path(__file__).resolve().parents[3] / "static" / "js" / "format.js"
NUMBERS = [
    None,
    "",
    "n/a",
    0,
    1,
    -2,
    True,
    0.5,
    0.1234567,
    1.23456,
    123.456,
    999.9,
    999.99,
    1000,
    1250,
    12250,
    -12250,
    12345,
    1500000,
    2.5e9,
    1e12,
    0.00012,
    5e-5,
    1e-5,
    -3.3e-7,
    0.001,
    0.000999,
    0.125,
    12.25,
]
SPECIAL = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
OFFSETS = [0, 10, 44, 45, 89, 90, 150, 3599, 3600, 5400, 9000, 86399, 86400, 129600, 216000, 10**7]

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run static/js/format.js")


def _js(expression: str) -> list[str]:
    script = "global.window = {};\n" + FORMAT_JS.read_text() + f"\nconsole.log(JSON.stringify({expression}));"
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)


def test_numbers() -> None:
    values = [*NUMBERS, *SPECIAL]
    js = _js(
        f"{json.dumps(values)}.map(function (v) {{ return window.fmt.num("
        "v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v); })"
    )
    python = [format_number(SPECIAL.get(v, v) if isinstance(v, str) else v) for v in values]
    assert js == python


@pytest.mark.parametrize("sign", [1, -1])
def test_relative_times(sign: int) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    js = _js(
        f"{json.dumps([sign * s for s in OFFSETS])}.map(function (s) {{ var now = new Date({now.timestamp() * 1000});"
        " return window.fmt.relative(new Date(now - s * 1000), now); })"
    )
    assert js == [relative_time(now - timedelta(seconds=sign * s), now) for s in OFFSETS]
