"""What the command line reads and prints, shared by the commands that run on this machine
(:mod:`compose.cli`) and the server client (:mod:`compose.remote`).

Both import this module and neither imports the other's internals, so the two command
sets sit side by side instead of importing each other.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from compose.humanize import human_duration


class Usage(Exception):
    """A plain message for the user; the command exits 1."""


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Usage(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def parse_inputs(inputs_json: str | None, pairs: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if inputs_json:
        text = read_text(Path(inputs_json[1:])) if inputs_json.startswith("@") else inputs_json
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise Usage(f"-i is not a JSON object: {exc}") from None
        if not isinstance(loaded, dict):
            raise Usage('-i must be a JSON object: {"name": value, ...}')
        values.update(loaded)
    for pair in pairs:
        key, value = key_value(pair, f"--input {pair!r}: write KEY=VALUE")
        values[key] = value
    return values


def key_value(text: str, usage: str) -> tuple[str, str]:
    """``KEY=VALUE`` split at the first ``=``, the key stripped; ``usage`` when malformed."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise Usage(usage)
    return key.strip(), value


class EventPrinter:
    """Renders job events as lines on ``stream``; progress is a bar when it is a terminal.

    Every known secret is replaced by ``***`` before anything is written.
    """

    BAR_WIDTH = 24
    PLAIN_PROGRESS_EVERY_S = 2.0

    def __init__(self, stream: TextIO, *, secrets: Sequence[str] = (), tty: bool | None = None):
        self.stream = stream
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.tty = stream.isatty() if tty is None else tty
        self._bar_shown = False
        self._last_plain: dict[str, float] = {}

    def __call__(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        job = event.get("job") or "run"
        if kind == "progress":
            self._progress(job, event)
        elif kind == "log":
            level = event.get("level", "info")
            if level != "debug":
                prefix = "" if level == "info" else f"{level}: "
                self.line(f"[{job}] {prefix}{event.get('message', '')}")
        elif kind == "metric":
            self.line(f"[{job}] {format_metric(event)}")
        elif kind == "status":
            message = event.get("message") or ""
            self.line(f"[{job}] {event.get('status')}" + (f": {message}" if message else ""))
        elif kind == "artifact":
            size = event.get("size_bytes")
            self.line(
                f"[{job}] {event.get('kind')}: {event.get('path')}"
                + (f" ({human_size(size)})" if size is not None else "")
            )

    def line(self, text: str) -> None:
        self._clear_bar()
        self.stream.write(self.redact(text) + "\n")
        self.stream.flush()

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def finish(self) -> None:
        if self._bar_shown:
            self.stream.write("\n")
            self.stream.flush()
            self._bar_shown = False

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self.stream.write("\r\x1b[2K")
            self._bar_shown = False

    def _progress(self, job: str, event: Mapping[str, Any]) -> None:
        current, total = event.get("current") or 0, event.get("total")
        unit, stage = event.get("unit") or "", event.get("stage") or ""
        done = total is not None and current >= total
        eta = event.get("eta_s")
        counts = f"{current}/{total} {unit}" if total else f"{current} {unit}"
        tail = f" eta {human_duration(eta)}" if eta is not None and not done else ""
        label = f"[{job}] {stage + ' ' if stage else ''}"
        if self.tty:
            bar = ""
            if total:
                filled = int(self.BAR_WIDTH * min(current, total) / total)
                bar = "[" + "#" * filled + "-" * (self.BAR_WIDTH - filled) + "] "
            self._clear_bar()
            self.stream.write(self.redact(f"{label}{bar}{counts}{tail}"))
            self._bar_shown = True
            if done:
                self.finish()
            else:
                self.stream.flush()
            return
        now = time.monotonic()
        if done or now - self._last_plain.get(job, float("-inf")) >= self.PLAIN_PROGRESS_EVERY_S:
            self._last_plain[job] = now
            self.line(f"{label}{counts}{tail}")


def format_metric(event: Mapping[str, Any]) -> str:
    """``step 10 epoch 0.5 loss=1.234 learning_rate=5e-05`` (eval metrics marked as such)."""
    head = f"step {event.get('step')}"
    if event.get("epoch") is not None:
        head += f" epoch {event['epoch']:.2f}"
    if event.get("split") == "eval":
        head += " eval"
    values = event.get("values") or {}
    parts = [
        f"{name}={value:.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else f"{name}={value}"
        for name, value in values.items()
    ]
    return " ".join([head, *parts])


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
