"""TensorBoard event files, written directly: scalars and text.

An event file is a sequence of TFRecord frames, each holding one serialized ``Event``
protocol buffer. The runner writes the three message shapes it needs (file version,
scalars, text) by hand, so a training process carries neither the ``tensorboard`` and
``protobuf`` packages nor their background writer thread. TensorBoard reads the files as
it reads its own; the layout matches what transformers' TensorBoard callback wrote:
``<output_dir>/runs/<date>_<host>/events.out.tfevents.*`` with ``train/``, ``eval/`` tags.
"""
from __future__ import annotations

import itertools
import os
import socket
import struct
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from transformers import TrainerCallback

FILE_VERSION = "brain.Event:2"
_WRITERS = itertools.count()
_DT_STRING = 7  # tensorflow DataType enum


# --- framing ------------------------------------------------------------------------

def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum TFRecord frames carry."""
    crc = 0xFFFFFFFF
    table = _CRC32C_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(record: bytes) -> bytes:
    """One TFRecord: length, its checksum, the record, the record's checksum."""
    length = struct.pack("<Q", len(record))
    return (length + struct.pack("<I", _masked_crc(length)) + record
            + struct.pack("<I", _masked_crc(record)))


# --- protocol buffer encoding (only what Event needs) --------------------------------

def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _bytes_field(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def _text_field(field: int, text: str) -> bytes:
    return _bytes_field(field, text.encode("utf-8"))


def _event(wall_time: float, step: int, *, file_version: str | None = None,
           values: list[bytes] | None = None) -> bytes:
    # Event: wall_time = 1 (double), step = 2 (int64), file_version = 3, summary = 5.
    out = _key(1, 1) + struct.pack("<d", wall_time) + _key(2, 0) + _varint(step)
    if file_version is not None:
        out += _text_field(3, file_version)
    if values is not None:
        # Summary: repeated Value value = 1.
        out += _bytes_field(5, b"".join(_bytes_field(1, value) for value in values))
    return out


def _scalar_value(tag: str, value: float) -> bytes:
    # Summary.Value: tag = 1, simple_value = 2 (float).
    return _text_field(1, tag) + _key(2, 5) + struct.pack("<f", value)


def _text_value(tag: str, text: str) -> bytes:
    # What TensorBoard's text plugin reads: a one-element DT_STRING tensor whose
    # metadata names the plugin (Value: tag = 1, tensor = 8, metadata = 9).
    plugin_data = _text_field(1, "text")
    metadata = _bytes_field(1, plugin_data)
    shape = _bytes_field(2, _key(1, 0) + _varint(1))  # TensorShapeProto { dim { size: 1 } }
    tensor = _key(1, 0) + _varint(_DT_STRING) + _bytes_field(2, shape) + _text_field(8, text)
    return _text_field(1, f"{tag}/text_summary") + _bytes_field(8, tensor) + _bytes_field(9, metadata)


# --- writing -------------------------------------------------------------------------

class EventFileWriter:
    """Appends events to one file in ``log_dir``; every write reaches the disk at once.

    Each write opens, appends and closes, so nothing is buffered in a thread or lost
    when the process is killed, and there is no handle to close.
    """

    def __init__(self, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        now = time.time()
        # The counter keeps two writers of one process in one second apart.
        self.path = log_dir / (f"events.out.tfevents.{int(now):010d}.{socket.gethostname()}.{os.getpid()}"
                               f".{next(_WRITERS)}")
        self._append(_event(now, 0, file_version=FILE_VERSION))

    def add_scalars(self, step: int, scalars: Mapping[str, float], wall_time: float | None = None) -> None:
        if scalars:
            values = [_scalar_value(tag, float(value)) for tag, value in scalars.items()]
            self._append(_event(wall_time or time.time(), step, values=values))

    def add_text(self, tag: str, text: str, step: int = 0, wall_time: float | None = None) -> None:
        self._append(_event(wall_time or time.time(), step, values=[_text_value(tag, text)]))

    def _append(self, record: bytes) -> None:
        with self.path.open("ab") as file:
            file.write(frame(record))


def run_folder_name(now: datetime | None = None) -> str:
    """``<date>_<host>``, the folder name transformers gives each run under ``runs/``."""
    return f"{(now or datetime.now()).strftime('%b%d_%H-%M-%S')}_{socket.gethostname()}"


def tag_logs(logs: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """Trainer log entries as TensorBoard tags: ``eval_loss`` -> ``eval/loss``, ``loss`` -> ``train/loss``.

    Numbers become scalars, strings text; anything else is left out.
    """
    scalars: dict[str, float] = {}
    texts: dict[str, str] = {}
    for key, value in logs.items():
        for prefix in ("eval", "test"):
            if key.startswith(prefix + "_"):
                tag = f"{prefix}/{key[len(prefix) + 1:]}"
                break
        else:
            tag = f"train/{key}"
        if isinstance(value, (int, float)):
            scalars[tag] = float(value)
        elif isinstance(value, str):
            texts[tag] = value
    return scalars, texts


class TensorBoardCallback(TrainerCallback):
    """Writes the trainer's logs, its arguments and the model config as TensorBoard events.

    Only the main process writes. A run (or a resumed run) gets a folder of its own
    under ``log_root``. Text passes through ``redact`` first: the arguments can hold a
    value the compose file read from the environment.
    """

    def __init__(self, log_root: Path, redact: Callable[[str], str] = lambda text: text) -> None:
        self.log_root = log_root
        self.redact = redact
        self.writer: EventFileWriter | None = None

    def _writer(self, state: Any) -> EventFileWriter | None:
        if self.writer is None and state.is_world_process_zero:
            self.writer = EventFileWriter(self.log_root / run_folder_name())
        return self.writer

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        writer = self._writer(state)
        if writer is None:
            return
        writer.add_text("args", self.redact(args.to_json_string()))
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_json_string"):
            writer.add_text("model_config", self.redact(config.to_json_string()))

    def on_log(self, args, state, control, logs=None, **kwargs):
        writer = self._writer(state)
        if writer is None or not logs:
            return
        scalars, texts = tag_logs(logs)
        writer.add_scalars(state.global_step, scalars)
        for tag, text in texts.items():
            writer.add_text(tag, self.redact(text), step=state.global_step)
