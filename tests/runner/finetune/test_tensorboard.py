"""The runner's TensorBoard callback over torch's SummaryWriter: what it writes, where, and
that TensorBoard reads it back value for value, with secrets kept out of the text."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from runner.finetune.tensorboard import TensorBoardCallback, tag_logs


def read_back(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return accumulator


def text_of(accumulator, tag: str) -> str:
    return accumulator.Tensors(f"{tag}/text_summary")[0].tensor_proto.string_val[0].decode()


def event_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("events.out.tfevents.*"))


def main_process(step: int) -> SimpleNamespace:
    return SimpleNamespace(is_world_process_zero=True, global_step=step)


ARGS = SimpleNamespace(to_json_string=lambda: '{"seed": 42, "note": "\u00e9t\u00e9"}')


def test_tensorboard_reads_scalars_and_text_back(tmp_path: Path) -> None:
    callback = TensorBoardCallback(tmp_path / "runs")
    callback.on_train_begin(ARGS, main_process(0), None)
    callback.on_log(ARGS, main_process(3), None, logs={"loss": 1.5, "learning_rate": 2e-4})
    callback.on_log(ARGS, main_process(6), None, logs={"loss": 1.25})
    callback.on_log(ARGS, main_process(2**40), None, logs={"loss": 0.5, "eval_loss": 0.75})

    # Every write is on disk at once, before the callback or the process ends.
    [run] = (tmp_path / "runs").iterdir()
    accumulator = read_back(run)
    loss = accumulator.Scalars("train/loss")
    assert [(e.step, e.value) for e in loss] == [(3, 1.5), (6, 1.25), (2**40, 0.5)]
    assert [(e.step, e.value) for e in accumulator.Scalars("eval/loss")] == [(2**40, 0.75)]
    assert accumulator.Scalars("train/learning_rate")[0].value == pytest.approx(2e-4)
    assert "args/text_summary" in accumulator.PluginTagToContent("text")
    assert json.loads(text_of(accumulator, "args")) == {"seed": 42, "note": "\u00e9t\u00e9"}
    assert [f.parent for f in event_files(tmp_path)] == [run]


def test_two_callbacks_at_once_keep_their_own_files(tmp_path: Path) -> None:
    first, second = TensorBoardCallback(tmp_path), TensorBoardCallback(tmp_path)
    first.on_log(ARGS, main_process(1), None, logs={"loss": 1.0})
    second.on_log(ARGS, main_process(1), None, logs={"loss": 2.0})
    assert len(event_files(tmp_path)) == 2


def test_the_files_are_checksummed_records(tmp_path: Path) -> None:
    from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow

    callback = TensorBoardCallback(tmp_path)
    callback.on_log(ARGS, main_process(1), None, logs={"loss": 2.0})
    [path] = event_files(tmp_path)
    damaged = bytearray(path.read_bytes())
    damaged[-6] ^= 0x01  # inside the last record's float
    path.write_bytes(bytes(damaged))

    reader = pywrap_tensorflow.PyRecordReader_New(str(path), 0, None, None)
    reader.GetNext()  # the file-version record is intact
    with pytest.raises(errors.DataLossError):
        reader.GetNext()


def test_trainer_logs_become_tags() -> None:
    scalars, texts = tag_logs(
        {
            "loss": 1.0,
            "grad_norm": 3,
            "eval_loss": 0.5,
            "eval_f1": 0.75,
            "test_accuracy": 1.0,
            "epoch": 0.5,
            "note": "resumed",
            "skipped": None,
        }
    )
    assert scalars == {
        "train/loss": 1.0,
        "train/grad_norm": 3.0,
        "eval/loss": 0.5,
        "eval/f1": 0.75,
        "test/accuracy": 1.0,
        "train/epoch": 0.5,
    }
    assert texts == {"train/note": "resumed"}


def test_text_is_redacted_before_it_is_written(tmp_path: Path) -> None:
    callback = TensorBoardCallback(tmp_path, redact=lambda text: text.replace("hf_s3cr3t", "***"))
    args = SimpleNamespace(to_json_string=lambda: '{"optim_args": "token=hf_s3cr3t"}')
    model = SimpleNamespace(config=SimpleNamespace(to_json_string=lambda: '{"note": "hf_s3cr3t"}'))
    callback.on_train_begin(args, main_process(0), None, model=model)
    callback.on_log(args, main_process(2), None, logs={"note": "hf_s3cr3t seen", "loss": 1.0})
    assert all(b"hf_s3cr3t" not in path.read_bytes() for path in event_files(tmp_path))
    accumulator = read_back(event_files(tmp_path)[0].parent)
    assert json.loads(text_of(accumulator, "args")) == {"optim_args": "token=***"}
    assert json.loads(text_of(accumulator, "model_config")) == {"note": "***"}
    assert text_of(accumulator, "train/note") == "*** seen"


def test_only_the_main_process_writes(tmp_path: Path) -> None:
    callback = TensorBoardCallback(tmp_path / "runs")
    args = SimpleNamespace(to_json_string=lambda: "{}")
    callback.on_train_begin(args, SimpleNamespace(is_world_process_zero=False, global_step=0), None)
    callback.on_log(args, SimpleNamespace(is_world_process_zero=False, global_step=1), None, logs={"loss": 1.0})
    assert not (tmp_path / "runs").exists()

    callback.on_train_begin(
        args,
        main_process(1),
        None,
        model=SimpleNamespace(config=SimpleNamespace(to_json_string=lambda: '{"model_type": "llama"}')),
    )
    callback.on_log(args, main_process(1), None, logs={"loss": 1.0})
    [run] = (tmp_path / "runs").iterdir()
    accumulator = read_back(run)
    assert [(e.step, e.value) for e in accumulator.Scalars("train/loss")] == [(1, 1.0)]
    assert set(accumulator.PluginTagToContent("text")) == {"args/text_summary", "model_config/text_summary"}


def test_importing_it_leaves_tensorflow_and_the_writer_unloaded() -> None:
    import subprocess
    import sys

    code = (
        "import sys, runner.finetune.tensorboard; "
        "print(sorted(m for m in ('tensorflow', 'torch.utils.tensorboard') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    ).stdout.strip()
    assert out == "[]"
