"""Python warnings in a job process: one log event each, deprecation notices as debug."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

from compose.events import parse_line
from compose.jobspec import JobSpec
from runner.library_warnings import report_warnings

ROOT = Path(__file__).resolve().parents[2]


def test_each_warning_is_one_event_at_the_level_its_reader_needs() -> None:
    seen: list[dict] = []
    saved = warnings.showwarning
    try:
        report_warnings("train", seen.append, lambda text: text.replace("hf_s3cr3t", "***"))
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("`old_name` is deprecated, use `new_name`", FutureWarning, stacklevel=1)
            warnings.warn("the column has 3 empty rows (token hf_s3cr3t)", UserWarning, stacklevel=1)
    finally:
        warnings.showwarning = saved

    assert [(e["type"], e["job"], e["level"]) for e in seen] == [("log", "train", "debug"), ("log", "train", "warning")]
    # Where it was raised: folder/file:line.
    assert re.fullmatch(
        r"FutureWarning: `old_name` is deprecated, use `new_name` "
        r"\(runner/test_library_warnings\.py:\d+\)",
        seen[0]["message"],
    )
    assert seen[1]["message"].startswith("UserWarning: the column has 3 empty rows (token ***)")


def test_the_runner_process_reports_warnings_as_events_not_stderr(tmp_path: Path) -> None:
    spec = JobSpec(
        run_id="r",
        job_id="j",
        component_id="c",
        component_type="datasets",
        method="load",
        config={},
        base_dir=str(tmp_path),
        storage_dir=str(tmp_path),
        secrets=["hf_s3cr3t"],
    )
    path = spec.write(tmp_path / "job.json")
    # A job that warns the way the ML libraries do, run through the real entry point.
    script = textwrap.dedent(f"""
        import sys, warnings
        import runner.main as main

        def job(ctx):
            warnings.warn("`is_gradient_checkpointing` is deprecated", FutureWarning)
            warnings.warn("hf_s3cr3t looks like a token", UserWarning)
            return {{"ok": True}}

        main.dispatch = lambda spec: job
        sys.exit(main.main(["--spec", {json.dumps(str(path))}]))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    logs = [
        (e["level"], e["message"].split(" (")[0])
        for e in map(parse_line, done.stdout.splitlines())
        if e["type"] == "log"
    ]
    assert logs == [
        ("debug", "FutureWarning: `is_gradient_checkpointing` is deprecated"),
        ("warning", "UserWarning: *** looks like a token"),
    ]
    assert "Warning" not in done.stderr and "warnings.warn" not in done.stderr
