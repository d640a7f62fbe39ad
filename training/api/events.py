"""What a run reported: its events (paged, or live as server-sent events), its metric
series, and its artifacts (listed, and downloaded as on the run page)."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from ninja import Header, Router

from training.api.core import ErrorBody
from training.api.schemas import ArtifactOut, EventPage, MetricsOut
from training.models import Run
from training.models.access import events_after, get_run_or_404
from training.models.events import metric_series
from training.views import downloads

router = Router(tags=["events"])
ERRORS = {400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody}
PAGE_MAX = 1000
# A comment line this often keeps proxies and clients from closing a quiet stream.
KEEPALIVE_S = 15.0


def _event_dict(row: Any) -> dict[str, Any]:
    return {"seq": row.seq, "type": row.type, "job": row.job_id, "ts": row.ts.isoformat(), "event": row.payload}


@router.get("/runs/{run_id}/events", response={200: EventPage, **ERRORS})
def run_events(request: HttpRequest, run_id: int, after: int = 0, limit: int = 500):
    """Events with ``seq > after``, oldest first; page on with ``after=last_seq`` while ``more``."""
    run = get_run_or_404(request.user, run_id)
    limit = min(PAGE_MAX, max(1, limit))
    rows = events_after(run, max(0, after), limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "events": [_event_dict(r) for r in rows],
        "last_seq": rows[-1].seq if rows else max(0, after),
        "more": more,
        "status": run.status,
        "final": run.is_final,
    }


@database_sync_to_async  # closes stale connections around each read, as the run page's consumer
def _poll(run_id: int, after: int) -> tuple[str | None, list[dict[str, Any]]]:
    # The status is read before the events: an event written before the run ended is then
    # always seen before the stream says it has ended. None: the run was deleted.
    status = Run.objects.filter(pk=run_id).values_list("status", flat=True).first()
    return status, [_event_dict(r) for r in events_after(run_id, after, 500)]


async def _sse(run_id: int, after: int) -> AsyncIterator[bytes]:
    interval = settings.COMPOSE_EVENT_POLL_S
    quiet = 0.0
    yield b": stream of run events\n\n"
    while True:
        status, events = await _poll(run_id, after)
        for event in events:
            after = event["seq"]
            yield f"id: {after}\nevent: event\ndata: {json.dumps(event)}\n\n".encode()
        if events:
            quiet = 0.0
            continue
        if status is None or status in Run.FINAL:
            end = {"status": status or "deleted", "last_seq": after}
            yield f"event: end\ndata: {json.dumps(end)}\n\n".encode()
            return
        await asyncio.sleep(interval)
        quiet += interval
        if quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield b": keepalive\n\n"


@router.get(
    "/runs/{run_id}/events/stream",
    response={200: None, **ERRORS},
    openapi_extra={
        "responses": {
            200: {
                "description": (
                    "Server-sent events: `event: event` with an event object (as in the paged list) per "
                    "record, its `seq` as the `id`; `event: end` with `{status, last_seq}` once the run has "
                    "ended. Resume with `after` or the `Last-Event-ID` header."
                ),
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        }
    },
)
async def run_event_stream(
    request: HttpRequest, run_id: int, after: int = 0, last_event_id: str | None = Header(None, alias="Last-Event-ID")
):
    """Follow a run live (``curl -N``): what is stored after ``after`` first, then each new event."""
    run = await sync_to_async(get_run_or_404)(request.user, run_id)
    if last_event_id and last_event_id.isdigit():
        after = max(after, int(last_event_id))
    response = StreamingHttpResponse(_sse(run.pk, max(0, after)), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@router.get("/runs/{run_id}/metrics", response={200: MetricsOut, **ERRORS})
def run_metrics(request: HttpRequest, run_id: int):
    """Every metric as a series per job, name and split (train or eval), in step order."""
    run = get_run_or_404(request.user, run_id)
    return {"series": metric_series(run)}


@router.get("/runs/{run_id}/artifacts", response={200: list[ArtifactOut], **ERRORS})
def run_artifacts(request: HttpRequest, run_id: int):
    """The run's checkpoints, models, adapters and data sets whose files are still there."""
    run = get_run_or_404(request.user, run_id)
    return [
        {
            "id": a.pk,
            "job": a.job_id,
            "kind": a.kind,
            "path": a.path,
            "size_bytes": a.size_bytes,
            "step": a.step,
            "created": a.created,
            "download": reverse("api-v1:download_artifact", kwargs={"run_id": run.pk, "artifact_id": a.pk}),
        }
        for a in run.artifacts.filter(deleted__isnull=True).order_by("created", "id")
    ]


_BINARY = {
    "responses": {
        200: {
            "description": "the file, or a folder as a zip archive",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


@router.get("/runs/{run_id}/artifacts/{artifact_id}/download", response={200: None, **ERRORS}, openapi_extra=_BINARY)
def download_artifact(request: HttpRequest, run_id: int, artifact_id: int):
    """An artifact as on the run page: a file as itself, a folder as a zip built while it is sent."""
    return downloads.artifact_download(request, run_id, artifact_id)


@router.get("/runs/{run_id}/download", response={200: None, **ERRORS}, openapi_extra=_BINARY)
def download_run(request: HttpRequest, run_id: int):
    """The whole run folder as a zip archive."""
    return downloads.run_download(request, run_id)
