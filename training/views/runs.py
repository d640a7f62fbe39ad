"""Run form, run page, the event replay endpoint, cancel and rerun."""

from __future__ import annotations

import difflib
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from compose.errors import Problem
from compose.readable import readable_path
from datasets_app.models import MaterializedDataset
from training import actions
from training.forms.apply import place_problems
from training.forms.run import RunForm
from training.models import JobRun, JobRunStatus
from training.models.access import events_after, get_document_or_404, get_run_or_404

from .answers import answers_of
from .common import parse_text
from .compare import MAX_RUNS as COMPARE_MAX_RUNS
from .lineage import earlier_metrics, resumed_step

EVENTS_PAGE = 1000
EVENTS_PAGE_MAX = 5000


def _inputs_for(doc: Any, workflow_id: str) -> tuple[Any, list[Any]]:
    from compose.inputs import workflow_inputs

    parsed = parse_text(doc.yaml_text, source=doc.name)
    if parsed.file is None or parsed.file.workflow(workflow_id) is None:
        raise Http404(f"No workflow {workflow_id!r} in this document.")
    return parsed, workflow_inputs(parsed.file, workflow_id)


def run_new(request: HttpRequest, pk: int, workflow_id: str) -> HttpResponse:
    doc = get_document_or_404(request.user, pk)
    parsed, specs = _inputs_for(doc, workflow_id)
    # Warnings too: a field that would have no effect is said before the run is queued.
    problems: list[Problem] = [*parsed.errors, *parsed.warnings]
    if request.method == "POST":
        form = RunForm(request.POST, specs=specs, describe=partial(readable_path, parsed.file))
        if form.is_valid():
            swept = form.swept()
            try:
                if swept:
                    sweep = actions.enqueue_sweep(doc, workflow_id, form.raw_inputs(), swept, request.user)
                else:
                    run = actions.enqueue_run(doc, workflow_id, form.raw_inputs(), request.user)
            except actions.RunRefused as exc:
                placed, refused = place_problems(exc.problems, "inputs", [s.name for s in specs])
                problems = [*refused, *parsed.warnings]
                for name, msgs in placed.items():
                    for msg in msgs:
                        form.add_error(name, msg)
            else:
                if swept:
                    return _after_sweep(request, sweep)
                return redirect("training:run", pk=run.pk)
        status = 400
    else:
        form = RunForm(specs=specs, describe=partial(readable_path, parsed.file))
        status = 200
    return render(
        request,
        "training/run_form.html",
        {
            "document": doc,
            "workspace": doc.workspace,
            "workflow_id": workflow_id,
            "form": form,
            "specs": specs,
            "problems": problems,
            "sweep_max": settings.COMPOSE_SWEEP_MAX_RUNS,
        },
        status=status,
    )


def _after_sweep(request: HttpRequest, sweep: Any) -> HttpResponse:
    """The compare page of the runs just queued (the first of them when they are more than it shows)."""
    ids = list(sweep.runs.order_by("pk").values_list("pk", flat=True))
    queued = f"Sweep #{sweep.pk} queued {len(ids)} run{'s' if len(ids) != 1 else ''}"
    url = sweep.compare_url(COMPARE_MAX_RUNS)
    if url is None:
        messages.success(request, queued + ".")
        return redirect("training:run", pk=ids[0])
    if len(ids) > COMPARE_MAX_RUNS:
        messages.success(
            request,
            f"{queued} (#{ids[0]} to #{ids[-1]}); here are the first {COMPARE_MAX_RUNS}, the most one "
            "comparison shows. Each run's page compares it with its neighbours in the sweep.",
        )
    else:
        messages.success(request, queued + ".")
    return redirect(url)


def _sweep_line(run: Any) -> dict[str, Any] | None:
    """The run page's "part of sweep #N (4 runs): compare" for a run a sweep queued."""
    if run.sweep_id is None:
        return None
    sweep = run.sweep
    return {
        "pk": sweep.pk,
        "count": sweep.runs.count(),
        "values": sweep.values,
        "compare": sweep.compare_url(COMPARE_MAX_RUNS, around=run.pk),
    }


def _config_diff(run: Any) -> list[tuple[str, str]]:
    """Lines of a unified diff from the run's snapshot to the document as it is now."""
    if run.document is None or run.document.yaml_text == run.yaml_snapshot:
        return []
    lines = difflib.unified_diff(
        run.yaml_snapshot.splitlines(),
        run.document.yaml_text.splitlines(),
        "this run",
        "document now",
        lineterm="",
        n=2,
    )
    out = []
    for line in lines:
        kind = (
            "add"
            if line.startswith("+") and not line.startswith("+++")
            else "del"
            if line.startswith("-") and not line.startswith("---")
            else ""
        )
        out.append((kind, line))
    return out


def _datasets(run: Any, job_runs: list[Any]) -> list[dict[str, Any]]:
    """Data set summaries the run's jobs produced, with their preview rows."""
    out = []
    for job in job_runs:
        ref = job.output if isinstance(job.output, dict) else None
        if not ref or ref.get("type") != "dataset":
            continue
        stored = MaterializedDataset.objects.filter(
            workspace_id=run.workspace_id, fingerprint=ref.get("fingerprint")
        ).first()
        preview = (stored.preview if stored else None) or ref.get("preview") or []
        columns = list((ref.get("columns") or {}).keys()) or (list(preview[0].keys()) if preview else [])
        out.append({"job": job.job_id, "ref": ref, "preview": preview, "columns": columns, "stored": stored})
    return out


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_run_or_404(request.user, pk)
    job_runs = list(run.job_runs.all())
    return render(
        request,
        "training/run.html",
        {
            "run": run,
            "workspace": run.workspace,
            "document": run.document,
            "jobs": job_runs,
            "artifacts": list(run.artifacts.order_by("created", "id")),
            "datasets": _datasets(run, job_runs),
            "answers": answers_of(job_runs),
            "blank_job": JobRun(status=JobRunStatus.PENDING),  # the card the page clones for a new job
            "diff": _config_diff(run),
            "resumable": run.status in actions.RESUMABLE and not run.resumed_as.exists(),
            "resumed_as": list(run.resumed_as.order_by("pk").only("pk")),
            "max_attempts": settings.COMPOSE_MAX_ATTEMPTS,
            "earlier": earlier_metrics(run),
            "sweep": _sweep_line(run),
            "resumed_step": resumed_step(run),
            **_configs(job_runs),
        },
    )


def _configs(job_runs: list[Any]) -> dict[str, Any]:
    return {
        "jobs": job_runs,
        # Jobs that ran but reported no config: a run from before jobs reported it.
        "jobs_ran": any(job.status != "pending" for job in job_runs),
        "configs_recorded": any(job.config for job in job_runs),
    }


def run_configs(request: HttpRequest, pk: int) -> HttpResponse:
    """The run page's resolved configs, fetched again when a job reports the one it started with."""
    run = get_run_or_404(request.user, pk)
    return render(request, "training/_run_configs.html", {"run": run, **_configs(list(run.job_runs.all()))})


def run_answers(request: HttpRequest, pk: int) -> HttpResponse:
    """The run page's answers of model jobs, fetched again when a model job reports one."""
    run = get_run_or_404(request.user, pk)
    return render(request, "training/_run_answers.html", {"run": run, "answers": answers_of(list(run.job_runs.all()))})


def run_datasets(request: HttpRequest, pk: int) -> HttpResponse:
    """The run page's data set cards, fetched again when a job reports a new data set."""
    run = get_run_or_404(request.user, pk)
    return render(
        request, "training/_run_datasets.html", {"run": run, "datasets": _datasets(run, list(run.job_runs.all()))}
    )


def run_events(request: HttpRequest, pk: int) -> JsonResponse:
    """Replay: ``{"events": [{"seq", "event"}], "last_seq", "more", "run": {...}}`` after ``?after=``."""
    run = get_run_or_404(request.user, pk)
    try:
        after = max(0, int(request.GET.get("after", "0")))
        limit = min(EVENTS_PAGE_MAX, max(1, int(request.GET.get("limit", EVENTS_PAGE))))
    except ValueError:
        return JsonResponse({"error": "after and limit are whole numbers"}, status=400)
    rows = events_after(run, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return JsonResponse(
        {
            "events": [{"seq": r.seq, "event": r.payload} for r in rows],
            "last_seq": rows[-1].seq if rows else after,
            "more": more,
            "run": run_state(run),
        }
    )


def run_state(run: Any) -> dict[str, Any]:
    return {"type": "run", "id": run.pk, **run.live_state()}


@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_run_or_404(request.user, pk)
    try:
        actions.request_cancel(run, request.user)
    except actions.InvalidTransition as exc:
        messages.error(request, f"Cannot cancel: {exc}.")
    else:
        messages.info(request, "Cancel requested." if run.status == "running" else "Run cancelled.")
    return redirect("training:run", pk=run.pk)


def _new_run(request: HttpRequest, pk: int, make, verb: str) -> HttpResponse:
    """Start a run made from run ``pk`` by ``make(run, user)``; go to it, or back saying why not."""
    run = get_run_or_404(request.user, pk)
    try:
        new_run = make(run, request.user)
    except actions.RunRefused as exc:
        messages.error(request, f"Cannot {verb}: " + "; ".join(str(p.message) for p in exc.problems[:5]))
        return redirect("training:run", pk=run.pk)
    except actions.InvalidTransition as exc:
        messages.error(request, f"Cannot {verb}: {exc}.")
        return redirect("training:run", pk=run.pk)
    return redirect("training:run", pk=new_run.pk)


@require_POST
def run_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    return _new_run(request, pk, actions.rerun, "rerun")


@require_POST
def run_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _new_run(request, pk, actions.resume, "resume")


@require_POST
def run_rerun_current(request: HttpRequest, pk: int) -> HttpResponse:
    return _new_run(request, pk, actions.rerun_with_document, "run the current document")
