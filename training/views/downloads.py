"""Downloads of a run's outputs: an artifact (a file as itself, a folder as a zip archive)
or the whole run folder, each for whoever may see the run page.

Nothing is read into memory or written to disk first: files go out in chunks and a zip is
built while it is sent (``training.zipstream``). Django's ASGI handler would read a plain
iterator to its end before sending the first byte, so under ASGI (daphne) the chunks are
pulled one at a time from a worker thread instead.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse, Http404, HttpRequest, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from compose.confine import is_inside
from training.models.access import get_run_or_404
from training.run_files import artifact_location, folder_entries, open_inside, workspace_roots
from training.zipstream import CHUNK, stream_zip


@require_safe
def artifact_download(request: HttpRequest, pk: int, artifact_id: int) -> StreamingHttpResponse:
    run = get_run_or_404(request.user, pk)
    artifact = run.artifacts.filter(pk=artifact_id, deleted__isnull=True).first()
    if artifact is None:
        raise Http404("No such artifact")
    path = artifact_location(run, artifact.path)
    roots = workspace_roots(run.workspace)
    real = Path(os.path.realpath(path))
    if not is_inside(real, roots):
        raise Http404("No such artifact")  # written outside the workspace: not ours to serve
    if real.is_dir():
        return _zip_response(request, real, roots, f"run-{run.pk}-{path.name}.zip")
    handle = open_inside(real, roots)
    if handle is None:
        raise Http404("The artifact's file is gone")
    return _file_response(request, handle, path.name)


@require_safe
def run_download(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    run = get_run_or_404(request.user, pk)
    roots = workspace_roots(run.workspace)
    real = Path(os.path.realpath(run.folder))
    if not (is_inside(real, roots) and real.is_dir()):
        raise Http404("This run has no folder: it wrote nothing, or its outputs were deleted")
    return _zip_response(request, real, roots, f"run-{run.pk}.zip")


class _File(FileResponse):
    block_size = CHUNK


def _file_response(request: HttpRequest, handle, filename: str) -> FileResponse:
    response = _File(handle, as_attachment=True, filename=filename)  # type, length, name
    if isinstance(request, ASGIRequest):
        response.streaming_content = _pulled(iter(partial(handle.read, CHUNK), b""))
    return response


def _zip_response(request: HttpRequest, folder: Path, roots: Sequence[Path], filename: str) -> StreamingHttpResponse:
    chunks = stream_zip(folder_entries(folder), partial(open_inside, roots=roots))
    response = StreamingHttpResponse(
        _pulled(chunks) if isinstance(request, ASGIRequest) else chunks, content_type="application/zip"
    )
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


async def _pulled(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks`` for the ASGI handler: each one read in a worker thread, so a slow disk
    never blocks the event loop and only one chunk is in memory at a time."""
    pull = sync_to_async(lambda: next(chunks, None), thread_sensitive=False)
    try:
        while (chunk := await pull()) is not None:
            yield chunk
    finally:
        _close(chunks)


def _close(chunks: Iterable[bytes]) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        try:
            close()  # the client went away: release the open files now
        except ValueError:
            pass  # still running in its thread after a cancel; it is collected later
