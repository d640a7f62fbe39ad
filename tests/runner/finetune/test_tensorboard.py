"""The runner's own TensorBoard writer: files TensorBoard itself reads back, value for value."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from runner.finetune.tensorboard import EventFileWriter, TensorBoardCallback, crc32c, tag_logs


def read_back(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return accumulator


def test_checksum_is_crc32c() -> None:
    # The standard check value of CRC-32C (Castagnoli); zlib's CRC-32 gives 0xCBF43926.
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


def test_tensorboard_reads_scalars_and_text_back(tmp_path: Path) -> None:
    writer = EventFileWriter(tmp_path / "run")
    writer.add_scalars(3, {"train/loss": 1.5, "train/learning_rate": 2e-4}, wall_time=1000.5)
    writer.add_scalars(6, {"train/loss": 1.25})
    writer.add_scalars(2**40, {"train/loss": 0.5})
    writer.add_text("args", '{"seed": 42, "note": "\u00e9t\u00e9"}')

    accumulator = read_back(tmp_path / "run")
    loss = accumulator.Scalars("train/loss")
    assert [(e.step, e.value) for e in loss] == [(3, 1.5), (6, 1.25), (2**40, 0.5)]
    assert loss[0].wall_time == 1000.5
    assert accumulator.Scalars("train/learning_rate")[0].value == pytest.approx(2e-4)
    assert "args/text_summary" in accumulator.PluginTagToContent("text")
    text = accumulator.Tensors("args/text_summary")[0].tensor_proto.string_val[0].decode()
    assert json.loads(text) == {"seed": 42, "note": "\u00e9t\u00e9"}
    assert writer.path.name.startswith("events.out.tfevents.")


def test_two_writers_in_one_folder_keep_their_own_files(tmp_path: Path) -> None:
    first, second = EventFileWriter(tmp_path), EventFileWriter(tmp_path)
    first.add_scalars(1, {"train/loss": 1.0})
    second.add_scalars(1, {"train/loss": 2.0})
    assert first.path != second.path
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 2


def test_a_damaged_record_fails_its_checksum(tmp_path: Path) -> None:
    from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow

    writer = EventFileWriter(tmp_path)
    writer.add_scalars(1, {"train/loss": 2.0})
    damaged = bytearray(writer.path.read_bytes())
    damaged[-6] ^= 0x01  # inside the last record's float
    writer.path.write_bytes(bytes(damaged))

    reader = pywrap_tensorflow.PyRecordReader_New(str(writer.path), 0, None, None)
    reader.GetNext()  # the file-version record is intact
    with pytest.raises(errors.DataLossError):
        reader.GetNext()


def test_trainer_logs_become_tags() -> None:
    scalars, texts = tag_logs({"loss": 1.0, "grad_norm": 3, "eval_loss": 0.5, "eval_f1": 0.75,
                               "test_accuracy": 1.0, "epoch": 0.5, "note": "resumed", "skipped": None})
    assert scalars == {"train/loss": 1.0, "train/grad_norm": 3.0, "eval/loss": 0.5, "eval/f1": 0.75,
                       "test/accuracy": 1.0, "train/epoch": 0.5}
    assert texts == {"train/note": "resumed"}


def test_text_is_redacted_before_it_is_written(tmp_path: Path) -> None:
    callback = TensorBoardCallback(tmp_path, redact=lambda text: text.replace("hf_s3cr3t", "***"))
    main = SimpleNamespace(is_world_process_zero=True, global_step=2)
    callback.on_train_begin(SimpleNamespace(to_json_string=lambda: '{"optim_args": "token=hf_s3cr3t"}'), main, None)
    callback.on_log(None, main, None, logs={"note": "hf_s3cr3t seen", "loss": 1.0})
    assert b"hf_s3cr3t" not in callback.writer.path.read_bytes()
    accumulator = read_back(callback.writer.path.parent)
    text = accumulator.Tensors("args/text_summary")[0].tensor_proto.string_val[0].decode()
    assert json.loads(text) == {"optim_args": "token=***"}


def test_only_the_main_process_writes(tmp_path: Path) -> None:
    callback = TensorBoardCallback(tmp_path / "runs")
    args = SimpleNamespace(to_json_string=lambda: "{}")
    callback.on_train_begin(args, SimpleNamespace(is_world_process_zero=False, global_step=0), None)
    callback.on_log(args, SimpleNamespace(is_world_process_zero=False, global_step=1), None, logs={"loss": 1.0})
    assert not (tmp_path / "runs").exists()

    main = SimpleNamespace(is_world_process_zero=True, global_step=1)
    callback.on_train_begin(args, main, None, model=SimpleNamespace(config=SimpleNamespace(
        to_json_string=lambda: '{"model_type": "llama"}')))
    callback.on_log(args, main, None, logs={"loss": 1.0})
    [run] = (tmp_path / "runs").iterdir()
    accumulator = read_back(run)
    assert [(e.step, e.value) for e in accumulator.Scalars("train/loss")] == [(1, 1.0)]
    assert set(accumulator.PluginTagToContent("text")) == {"args/text_summary", "model_config/text_summary"}
