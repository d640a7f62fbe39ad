"""What this worker machine has: GPUs (from nvidia-smi, or pretended), CPUs, free disk.

``COMPOSE_FAKE_GPUS=N`` pretends N GPUs (tests and demos on a machine without any); the
worker registers them marked as fake and the Fleet page says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    memory_mb: int


def detect_gpus() -> list[GpuInfo]:
    """The GPUs ``nvidia-smi`` lists, in CUDA index order; none when it is missing or fails."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3 and parts[0].isdigit():
            memory = int(float(parts[2])) if parts[2].replace(".", "", 1).isdigit() else 0
            gpus.append(GpuInfo(int(parts[0]), parts[1], memory))
    return gpus


def fake_gpus(count: int) -> list[GpuInfo]:
    return [GpuInfo(i, "fake GPU", 16 * 1024) for i in range(count)]


def inventory(fake_count: int) -> tuple[list[GpuInfo], bool]:
    """This machine's GPUs and whether they are pretended."""
    if fake_count:
        return fake_gpus(fake_count), True
    return detect_gpus(), False


def disk_free_bytes(folder: Path) -> int | None:
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
