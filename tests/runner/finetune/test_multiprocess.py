"""`resources: {processes: 2}`: the runner trains data-parallel under torchrun on CPU (gloo).

Only rank 0 reports and writes; cancel reaches every process torchrun started.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from compose.jobspec import JobCancelled
from runner.launch import SubprocessExecutor, runner_command
from tests.fixtures import data
from tests.fixtures.training import trainer_spec

pytestmark = pytest.mark.slow


def spec_for(tmp_path: Path, model_dir: Path, rows: int, launcher: str = "torchrun", **fields):
    return trainer_spec(
        tmp_path,
        model_dir,
        data.prompt_response_rows(rows),
        prompt_column="prompt",
        response_column="response",
        per_device_train_batch_size=4,
        logging_steps=1,
        save_steps=None,
        resources={"processes": 2, "launcher": launcher},
        **fields,
    )


@pytest.mark.parametrize(
    "launcher, module", [("torchrun", "torch.distributed.run"), ("accelerate", "accelerate.commands.launch")]
)
def test_two_processes_split_the_data_and_only_rank_zero_reports(tmp_path, tiny_causal_lm_dir, launcher, module):
    spec = spec_for(tmp_path, tiny_causal_lm_dir, rows=32, launcher=launcher, num_epochs=1)
    assert runner_command(spec)[1:3] == ["-m", module]
    seen: list[dict] = []
    output = SubprocessExecutor().execute(spec, seen.append, threading.Event())

    # 32 rows, 4 per device, 2 devices: 4 steps per epoch (one process would take 8).
    assert output["global_step"] == 4
    assert any(e["type"] == "log" and "world size 2" in e["message"] for e in seen)
    train_steps = [e["step"] for e in seen if e["type"] == "metric" and e["split"] == "train"]
    assert train_steps == [1, 2, 3, 4]  # one report per step, not one per process
    assert [e["status"] for e in seen if e["type"] == "status"] == ["running", "succeeded"]
    assert sum(e["type"] == "output" for e in seen) == 1
    models = [e for e in seen if e["type"] == "artifact" and e["kind"] == "model"]
    assert len(models) == 1 and Path(models[0]["path"]) == (tmp_path / "out").resolve()

    out = tmp_path / "out"
    assert (out / "model.safetensors").is_file() and (out / "compose-config.json").is_file()
    # A second writer would have left a second TensorBoard event file.
    assert len(list((out / "runs").rglob("events.out.tfevents.*"))) == 1


def test_asking_for_gpus_a_cpu_machine_lacks_fails_before_training(tmp_path, tiny_causal_lm_dir):
    import torch

    from compose.jobspec import JobFailed

    if torch.cuda.is_available():
        pytest.skip("this machine has GPUs")

    spec = spec_for(tmp_path, tiny_causal_lm_dir, rows=8)
    spec.config["resources"] = {"gpus": 2}
    seen: list[dict] = []
    with pytest.raises(JobFailed, match="resources.gpus: asks for 2 GPUs; this machine has none"):
        SubprocessExecutor().execute(spec, seen.append, threading.Event())
    assert not any(e["type"] == "metric" for e in seen)
    assert not (tmp_path / "out").exists()


def test_cancel_stops_every_process_and_keeps_a_checkpoint(tmp_path, tiny_causal_lm_dir):
    import psutil

    spec = spec_for(tmp_path, tiny_causal_lm_dir, rows=64, max_steps=100_000)
    cancel = threading.Event()
    job_processes: list[psutil.Process] = []
    cancelled_at: list[float] = []

    def on_event(event: dict) -> None:
        if event["type"] == "metric" and not cancel.is_set():
            job_processes.extend(psutil.Process().children(recursive=True))
            cancelled_at.append(time.monotonic())
            cancel.set()

    with pytest.raises(JobCancelled):
        SubprocessExecutor(grace_s=30).execute(spec, on_event, cancel)
    stopped_after = time.monotonic() - cancelled_at[0]

    assert len(job_processes) >= 3  # torchrun and its two workers
    assert stopped_after < 25
    assert not [p.pid for p in job_processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    checkpoints = sorted((tmp_path / "out").glob("checkpoint-*"))
    assert len(checkpoints) == 1 and (checkpoints[0] / "trainer_state.json").is_file()
