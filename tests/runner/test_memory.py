"""Freed heap memory goes back to the operating system before training starts."""
from __future__ import annotations

import os
import sys

import pytest

from runner.memory import release_free_memory


def resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_blocks_below_live_ones_are_returned() -> None:
    blobs = [bytes(1000) for _ in range(150_000)]  # about 150 MiB of separate heap blocks
    pinned = [bytes(1000) for _ in range(10)]  # allocated above them: free() alone cannot shrink the heap
    del blobs
    before = resident_mib()
    assert release_free_memory() is True
    after = resident_mib()
    assert before - after > 100, (before, after)
    assert len(pinned) == 10
