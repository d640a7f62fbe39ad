"""Cancel saves a checkpoint; resume (a path or ``latest``) reaches the same end as a run never stopped."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from compose.jobspec import JobCancelled
from tests.fixtures import data
from tests.fixtures.training import losses, run_trainer, trainer_spec

pytestmark = pytest.mark.slow

RUN = dict(
    max_steps=6,
    per_device_train_batch_size=2,
    logging_steps=1,
    save_steps=3,
    max_seq_length=32,
    text_column="text",
    learning_rate=1e-3,
    seed=3,
)


def _cancel_after(step: int, cancelled: threading.Event):
    def on_event(event: dict) -> None:
        if event["type"] == "metric" and event["step"] == step:
            # Another thread asks, as a signal handler or the web worker would.
            thread = threading.Thread(target=cancelled.set)
            thread.start()
            thread.join()

    return on_event


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, tiny_causal_lm_dir: Path):
    tmp = tmp_path_factory.mktemp("uninterrupted")
    output, seen = run_trainer(trainer_spec(tmp, tiny_causal_lm_dir, data.text_rows(12), **RUN))
    return tmp, output, losses(seen)


def test_cancel_saves_a_checkpoint_then_latest_resumes(tmp_path: Path, tiny_causal_lm_dir: Path, uninterrupted) -> None:
    _, full_output, full_losses = uninterrupted
    cancelled = threading.Event()
    spec = trainer_spec(tmp_path, tiny_causal_lm_dir, data.text_rows(12), **RUN)
    seen: list[dict] = []
    with pytest.raises(JobCancelled):
        run_trainer(spec, cancelled=cancelled, on_event=lambda e: (seen.append(e), _cancel_after(1, cancelled)(e)))

    # Stopped at the next step boundary, with a checkpoint of that step.
    stopped_at = max(step for step, _ in losses(seen))
    assert stopped_at == 2
    assert (tmp_path / "out" / "checkpoint-2" / "trainer_state.json").is_file()
    assert any(e["type"] == "artifact" and e["kind"] == "checkpoint" and e["step"] == 2 for e in seen)
    assert [e["status"] for e in seen if e["type"] == "status"] == ["running", "cancelled"]
    assert not (tmp_path / "out" / "model.safetensors").exists()

    resumed = trainer_spec(tmp_path, tiny_causal_lm_dir, data.text_rows(12), resume_from_checkpoint="latest", **RUN)
    output, seen = run_trainer(resumed)
    assert output["global_step"] == full_output["global_step"] == 6
    assert losses(seen) == [(s, v) for s, v in full_losses if s > 2]
    assert [Path(p).name for p in output["checkpoints"]] == ["checkpoint-2", "checkpoint-3", "checkpoint-6"]


def test_resume_from_a_path(tmp_path: Path, tiny_causal_lm_dir: Path, uninterrupted) -> None:
    full_dir, _, full_losses = uninterrupted
    spec = trainer_spec(
        tmp_path,
        tiny_causal_lm_dir,
        data.text_rows(12),
        resume_from_checkpoint=str(full_dir / "out" / "checkpoint-3"),
        **RUN,
    )
    output, seen = run_trainer(spec)
    assert output["global_step"] == 6
    assert losses(seen) == [(s, v) for s, v in full_losses if s > 3]


def test_latest_without_checkpoints_starts_fresh(tmp_path: Path, tiny_causal_lm_dir: Path, uninterrupted) -> None:
    _, _, full_losses = uninterrupted
    spec = trainer_spec(tmp_path, tiny_causal_lm_dir, data.text_rows(12), resume_from_checkpoint="latest", **RUN)
    output, seen = run_trainer(spec)
    assert losses(seen) == full_losses
    assert any(e["type"] == "log" and "found no checkpoint" in e["message"] for e in seen)


def test_same_seed_same_losses_other_seed_differs(tmp_path: Path, tiny_causal_lm_dir: Path, uninterrupted) -> None:
    _, _, full_losses = uninterrupted
    lora = dict(RUN, max_steps=3, save_steps=None, peft_adapter="lora", lora_dropout=0.1)
    runs = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        spec = trainer_spec(tmp_path / name, tiny_causal_lm_dir, data.text_rows(12), **dict(lora, seed=seed))
        runs[name] = losses(run_trainer(spec)[1])
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["c"]


def test_missing_checkpoint_path_fails_before_training(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    from compose.jobspec import JobFailed

    spec = trainer_spec(tmp_path, tiny_causal_lm_dir, data.text_rows(4), resume_from_checkpoint="./nope", **RUN)
    with pytest.raises(JobFailed, match="resume_from_checkpoint: checkpoint folder './nope' not found"):
        run_trainer(spec)
