"""The memory ceiling of a job process, set by the process itself before any work.

``COMPOSE_JOB_MEMORY_MB`` (from the worker's settings) caps the process's data segment
(``RLIMIT_DATA``: heap and private writable mappings). Unlike the address-space limit it
leaves alone the large reservations a GPU runtime maps without backing them, so it works
for training on a GPU too. An allocation past it raises ``MemoryError`` in the job, which
fails with a message naming the limit, instead of the machine's OOM killer picking a victim.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

MEMORY_ENV = "COMPOSE_JOB_MEMORY_MB"


def memory_limit_mb(environ: Mapping[str, str] = os.environ) -> int | None:
    raw = environ.get(MEMORY_ENV, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def apply_memory_limit(environ: Mapping[str, str] = os.environ) -> int | None:
    """Lower this process's data segment limit to the configured MiB; return them (or None)."""
    mb = memory_limit_mb(environ)
    if mb is None:
        return None
    import resource

    limit = mb << 20
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    return mb


def out_of_memory_message(environ: Mapping[str, str] = os.environ) -> str:
    mb = memory_limit_mb(environ)
    if mb is None:
        return "the job ran out of memory"
    return (
        f"the job needed more than its {mb} MiB memory limit (COMPOSE_JOB_MEMORY_MB on the "
        "worker); use less data per step or ask for a higher limit"
    )
