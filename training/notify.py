"""Tell open run pages that something changed, after the change is committed.

The message carries no data: the consumer reads the new rows from the database,
so a lost or duplicated message can never lose or duplicate an event. Without Redis
the in-memory layer only reaches consumers in this process; the consumer's poll
covers the rest (docs/web.md, "How events reach the browser").
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

EVENT = "run.event"  # new RunEvent rows
STATUS = "run.status"  # the Run row changed (status, cancel request)


def group_name(run_id: int) -> str:
    return f"run-{run_id}"


def send_now(run_id: int, kind: str) -> None:
    """Push a wake-up to the run's group; never raises (the poll is the fallback)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_name(run_id), {"type": kind, "run_id": run_id})
    except Exception:  # a Redis hiccup must not fail the worker or the request
        log.warning("could not notify %s for run %s", kind, run_id, exc_info=True)


def notify_run(run_id: int, kind: str = EVENT) -> None:
    """Schedule a wake-up for when the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send_now(run_id, kind))
