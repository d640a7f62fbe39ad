"""Handing memory the process no longer uses back to the operating system."""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # glibc only (not musl)
    except (OSError, AttributeError):
        return None
    return libc


def release_free_memory() -> bool:
    """Collect garbage, then ask glibc to return its free heap pages (``malloc_trim``).

    Loading a model and preparing data leave freed blocks that the allocator keeps; the
    training steps that follow would otherwise peak on top of them. True when trimmed.
    """
    gc.collect()
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
