"""Every state change of documents and runs, one function each (views only call these).

``Run.status`` changes only here: see the state machine on :class:`training.models.Run`.
"""

from training.actions.documents import create_document, update_document
from training.actions.errors import InvalidTransition, RunRefused
from training.actions.events import record_event, record_events
from training.actions.runs import (
    RESUMABLE,
    enqueue_run,
    enqueue_sweep,
    request_cancel,
    rerun,
    rerun_with_document,
    resume,
    validate_run,
)
from training.actions.worker import (
    claim_run,
    finish_run,
    heartbeat,
    mark_interrupted,
    mark_stale_runs,
    retry,
)

__all__ = [
    "RESUMABLE",
    "InvalidTransition",
    "RunRefused",
    "claim_run",
    "create_document",
    "enqueue_run",
    "enqueue_sweep",
    "finish_run",
    "heartbeat",
    "mark_interrupted",
    "mark_stale_runs",
    "record_event",
    "record_events",
    "request_cancel",
    "rerun",
    "rerun_with_document",
    "resume",
    "retry",
    "update_document",
    "validate_run",
]
