"""Every state change of documents and runs, one function each (views only call these)."""
from training.actions.documents import create_document, update_document
from training.actions.errors import InvalidTransition, RunRefused
from training.actions.runs import (
    claim_run, enqueue_run, finish_run, heartbeat, mark_interrupted, mark_stale_runs,
    record_event, request_cancel, rerun, validate_run,
)

__all__ = [
    "InvalidTransition", "RunRefused", "claim_run", "create_document", "enqueue_run",
    "finish_run", "heartbeat", "mark_interrupted", "mark_stale_runs", "record_event",
    "request_cancel", "rerun", "update_document", "validate_run",
]
