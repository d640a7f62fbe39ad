"""Recording what a run reports: one numbered event at a time."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from compose import events as ev
from compose.jsonvalue import jsonable
from training import notify
from training.actions.derived import apply_event
from training.models import Run, RunEvent

log = logging.getLogger(__name__)


def record_event(run: Run, event: ev.Event) -> RunEvent:
    """Store one event with the run's next seq, update the derived tables, wake pages.

    The seq counter lives on the Run row and is bumped in the same transaction as the
    insert: the UPDATE locks the row, so concurrent writers (several jobs, the web
    process) are serialized and a rolled-back insert gives its number back.
    """
    with transaction.atomic():
        row = _insert(run, event)
        notify.notify_run(run.pk, notify.EVENT)
    return row


def record_events(run: Run, events: list[ev.Event]) -> tuple[int, int]:
    """Store a batch in one transaction with one wake-up; return (stored, failed).

    Each event gets its own savepoint, so one that cannot be stored (a value the
    database refuses) is skipped without losing the others or leaving a gap.
    """
    stored = failed = 0
    with transaction.atomic():
        for event in events:
            try:
                with transaction.atomic():
                    _insert(run, event)
                stored += 1
            except Exception:
                failed += 1
                log.exception("could not record %s event of run %s", event.get("type"), run.pk)
        if stored:
            notify.notify_run(run.pk, notify.EVENT)
    return stored, failed


def _insert(run: Run, event: ev.Event) -> RunEvent:
    with transaction.atomic():
        Run.objects.filter(pk=run.pk).update(last_seq=F("last_seq") + 1)
        seq = Run.objects.filter(pk=run.pk).values_list("last_seq", flat=True).get()
        ts = event.get("ts")
        when = datetime.fromtimestamp(ts, tz=UTC) if isinstance(ts, (int, float)) else timezone.now()
        event = jsonable(event)
        row = RunEvent.objects.create(
            run_id=run.pk,
            seq=seq,
            type=str(event.get("type", "log")),
            job_id=str(event.get("job") or ""),
            payload=event,
            ts=when,
        )
        apply_event(run.pk, event)
    return row
