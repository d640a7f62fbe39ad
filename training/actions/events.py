"""Recording what a run reports: numbered events, in batches of any size.

A batch costs the same few queries whatever its length: one ``UPDATE ... RETURNING``
reserves its seqs, one ``INSERT`` stores its events, one more its metric points and one
its artifacts, one ``SELECT`` reads its jobs, and each job it speaks of gets one
``UPDATE``. A data set output adds its own upsert.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, connections, router, transaction
from django.utils import timezone

from compose import events as ev
from compose.jsonvalue import jsonable
from training import notify
from training.actions.derived import DerivedRows, check
from training.models import Run, RunEvent

log = logging.getLogger(__name__)

# A batch whose frames are larger goes to the pages as a data-less wake-up: the page's
# hub then reads it from the database (a channel layer is no place for megabytes).
FANOUT_MAX_CHARS = 256_000
BATCH_EVENTS = "run.events"  # the channel-layer message that carries a batch's frames

_JOB_ID_MAX = 200  # RunEvent.job_id


class BadEvent(ValueError):
    """An event that can never be stored (not one the database is busy for)."""


@dataclass(frozen=True)
class Prepared:
    type: str
    job_id: str
    payload: dict[str, Any]
    ts: datetime
    text: str  # the payload as JSON, written once for the database and the pages


def record_event(run: Run, event: ev.Event) -> RunEvent:
    """Store one event with the run's next seq, update the derived tables, wake pages.

    Raises what stopped it (a :class:`BadEvent`, a database error); nothing is stored then.
    """
    with transaction.atomic():
        rows = _store(run.pk, [prepare(event)])
        _push_after_commit(run.pk, rows)
    return rows[0]


def record_events(run: Run, events: list[ev.Event]) -> tuple[int, int]:
    """Store a batch in one transaction with one push to the pages; return (stored, failed).

    Seqs are gap-free and unique per run across processes: the UPDATE that reserves
    them locks the run row until commit, and a rolled-back batch gives them back. An
    event that cannot be stored (not a compose event, a value the database refuses)
    is logged and skipped without losing the others or leaving a gap.
    """
    good: list[Prepared] = []
    failed = 0
    for event in events:
        try:
            good.append(prepare(event))
        except Exception:
            failed += 1
            log.exception("could not record %r event of run %s", _type_of(event), run.pk)
    if not good:
        return 0, failed
    with transaction.atomic():
        try:
            with transaction.atomic():
                rows = _store(run.pk, good)
        except Exception:
            # Something in the batch is refused by the database: find it one by one
            # (a savepoint each), keeping the rest.
            rows = []
            for item in good:
                try:
                    with transaction.atomic():
                        rows.extend(_store(run.pk, [item]))
                except Exception:
                    failed += 1
                    log.exception("could not record %s event of run %s", item.type, run.pk)
        _push_after_commit(run.pk, rows)
    return len(rows), failed


def prepare(event: Any) -> Prepared:
    """Check an event and write its JSON; :class:`BadEvent` for one that can never be stored."""
    if not isinstance(event, dict):
        raise BadEvent(f"an event is a JSON object, not {type(event).__name__}")
    kind = event.get("type")
    if kind not in ev.EVENT_TYPES:
        raise BadEvent(f"unknown event type {kind!r}")
    payload = jsonable(event)
    job = str(payload.get("job") or "")
    if len(job) > _JOB_ID_MAX:
        raise BadEvent(f"job id longer than {_JOB_ID_MAX} characters")
    try:
        check(payload)
    except ValueError as exc:
        raise BadEvent(str(exc)) from exc
    try:
        text = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:  # (jsonable leaves none of these; a guard)
        raise BadEvent(str(exc)) from exc
    if "\\u0000" in text and connection.vendor == "postgresql":
        # PostgreSQL's jsonb has no NUL character; its refusal would cost the batch a retry.
        raise BadEvent("a NUL character in the event")
    ts = event.get("ts")
    when = (
        datetime.fromtimestamp(ts, tz=UTC)
        if isinstance(ts, (int, float)) and not isinstance(ts, bool) and math.isfinite(ts) and 0 <= ts < 32503680000
        else timezone.now()
    )
    return Prepared(str(kind), job, payload, when, text)


def _store(run_id: int, items: list[Prepared]) -> list[RunEvent]:
    last, workspace_id = _reserve(run_id, len(items))
    first = last - len(items) + 1
    rows = [
        RunEvent(run_id=run_id, seq=first + i, type=item.type, job_id=item.job_id, payload=item.payload, ts=item.ts)
        for i, item in enumerate(items)
    ]
    _insert_events(rows, items)
    derived = DerivedRows(run_id, workspace_id)
    for item in items:
        derived.add(item.payload)
    derived.save()
    for row, item in zip(rows, items, strict=True):
        row._frame_text = item.text  # type: ignore[attr-defined]
    return rows


def _insert_events(rows: list[RunEvent], items: list[Prepared]) -> None:
    # One statement run for every row (prepared once; psycopg pipelines them), with the
    # payload's JSON as already written: no second encoding, no per-field conversion.
    db = connections[router.db_for_write(RunEvent)]
    adapt = db.ops.adapt_datetimefield_value
    payload = "%s::jsonb" if db.vendor == "postgresql" else "%s"
    with db.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {db.ops.quote_name(RunEvent._meta.db_table)} "
            f"(run_id, seq, type, job_id, payload, ts) VALUES (%s, %s, %s, %s, {payload}, %s)",
            [
                (row.run_id, row.seq, item.type, item.job_id, item.text, adapt(item.ts))
                for row, item in zip(rows, items, strict=True)
            ],
        )


def _reserve(run_id: int, n: int) -> tuple[int, int]:
    """Take the next ``n`` seqs of the run: its row stays locked until commit."""
    table = Run._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(table)} SET last_seq = last_seq + %s WHERE id = %s "
            "RETURNING last_seq, workspace_id",
            [n, run_id],
        )
        found = cursor.fetchone()
    if found is None:
        raise Run.DoesNotExist(f"run {run_id} does not exist")
    return int(found[0]), int(found[1])


def frames(rows: list[RunEvent]) -> list[list[Any]]:
    """``[seq, text]`` of each row: the websocket message the run page receives, as text."""
    out = []
    for row in rows:
        text = getattr(row, "_frame_text", None)
        if text is None:
            text = json.dumps(row.payload, ensure_ascii=False, separators=(",", ":"))
        out.append([row.seq, f'{{"type":"event","seq":{row.seq},"event":{text}}}'])
    return out


def _push_after_commit(run_id: int, rows: list[RunEvent]) -> None:
    if rows:
        batch = frames(rows)
        transaction.on_commit(lambda: send_batch(run_id, batch))


def send_batch(run_id: int, batch: list[list[Any]]) -> None:
    """Hand a committed batch's frames to the pages of the run; never raises.

    Too large a batch goes as a data-less wake-up (``notify.EVENT``): the pages read
    it from the database, which is the record either way.
    """
    if sum(len(text) for _, text in batch) > FANOUT_MAX_CHARS:
        notify.send_now(run_id, notify.EVENT)
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            notify.group_name(run_id), {"type": BATCH_EVENTS, "run_id": run_id, "frames": batch}
        )
    except Exception:  # a Redis hiccup must not fail the worker or the request
        log.warning("could not push %d events of run %s", len(batch), run_id, exc_info=True)


def _type_of(event: Any) -> Any:
    return event.get("type") if isinstance(event, dict) else type(event).__name__
