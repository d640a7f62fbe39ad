"""A trainer never silently trains over another run's checkpoints, and says which are its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.finetune.errors import ConfigProblem
from runner.finetune.job import _saved
from runner.finetune.outputs import claim_output_dir, resolve_resume


def with_checkpoints(folder: Path, *steps: int) -> Path:
    for step in steps:
        (folder / f"checkpoint-{step}").mkdir(parents=True)
        (folder / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    return folder


def test_a_used_output_dir_is_refused_in_one_line_naming_the_ways_out(tmp_path):
    with_checkpoints(tmp_path, 40, 120)
    with pytest.raises(ConfigProblem) as caught:
        claim_output_dir(tmp_path, None, False, print)
    message = caught.value.message
    assert "\n" not in message and "checkpoint-120" in message
    assert "resume_from_checkpoint: latest" in message and "--overwrite-output" in message


def test_resume_continues_and_overwrite_starts_afresh(tmp_path):
    with_checkpoints(tmp_path, 40)
    claim_output_dir(tmp_path, "latest", False, print)
    assert (tmp_path / "checkpoint-40").is_dir()
    notes: list[str] = []
    claim_output_dir(tmp_path, None, True, notes.append)
    assert not (tmp_path / "checkpoint-40").exists() and "removed 1" in notes[0]
    claim_output_dir(tmp_path / "new", None, False, print)  # an empty or new folder is fine


def test_latest_looks_in_the_run_then_down_its_lineage(tmp_path):
    own, parent, grand = tmp_path / "own", with_checkpoints(tmp_path / "p", 20), with_checkpoints(tmp_path / "g", 30)
    lineage = [str(parent), str(grand)]
    assert resolve_resume("latest", own, Path, lineage) == parent / "checkpoint-20"
    with_checkpoints(own, 25)
    assert resolve_resume("latest", own, Path, lineage) == own / "checkpoint-25"
    assert resolve_resume("latest", tmp_path / "none", Path, []) is None


def test_cancel_and_failure_messages_name_only_this_jobs_checkpoint(tmp_path):
    assert _saved(["/ws/runs/2/out/checkpoint-30"], None) == "checkpoint saved in /ws/runs/2/out/checkpoint-30"
    assert _saved([], tmp_path / "checkpoint-20") == f"no new checkpoint since {tmp_path / 'checkpoint-20'}"
    assert _saved([], None) == "no checkpoint was saved"
