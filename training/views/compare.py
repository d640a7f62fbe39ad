"""Comparing 2 to 6 runs of a workspace: their curves overlaid, their final numbers side by
side, and the fields of their resolved configurations that differ.

The page's address holds the whole comparison (``/w/<slug>/compare/?runs=12,14``), so a
link to it can be passed to anyone in the workspace.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from training.models import Run
from training.models.access import get_workspace_or_404
from training.models.events import metric_series

from .common import headline_metric, with_headline

MIN_RUNS, MAX_RUNS = 2, 6
# A series longer than this is thinned for the page (every k-th point, the last one kept):
# six runs of tens of thousands of steps would otherwise weigh megabytes.
MAX_POINTS = 2000
# The charts' order when present: as on the run page; other metrics follow by name.
METRIC_ORDER = (
    "loss",
    "eval_loss",
    "learning_rate",
    "grad_norm",
    "tokens_per_second",
    "samples_per_second",
    "perplexity",
    "accuracy",
    "f1",
)
_RUN_ID = re.compile(r"[0-9]{1,18}")


class CompareRefused(ValueError):
    """The ``runs`` of a comparison's address name no 2 to 6 distinct runs."""


def parse_run_ids(text: str) -> list[int]:
    """The run ids of ``runs=12,14``, in their order.

    >>> parse_run_ids(" 12, 14 ")
    [12, 14]
    >>> parse_run_ids("12,x")
    Traceback (most recent call last):
    ...
    training.views.compare.CompareRefused: 'x' is not a run number.
    """
    parts = [p.strip() for p in text.split(",")]
    parts = [p for p in parts if p]
    if len(parts) > MAX_RUNS:
        raise CompareRefused(f"{len(parts)} runs were given; compare {MAX_RUNS} at most.")
    ids: list[int] = []
    for part in parts:
        if not _RUN_ID.fullmatch(part):
            shown = part if len(part) <= 20 else part[:20] + "…"
            raise CompareRefused(f"{shown!r} is not a run number.")
        run_id = int(part)
        if run_id in ids:
            raise CompareRefused(f"Run #{run_id} is listed twice.")
        ids.append(run_id)
    if len(ids) < MIN_RUNS:
        raise CompareRefused(f"Choose {MIN_RUNS} to {MAX_RUNS} runs to compare; {len(ids) or 'none'} given.")
    return ids


class _Missing:
    """A field one run's configuration does not have."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class DiffRow:
    path: tuple[str, ...]
    values: tuple[Any, ...]  # one per compared mapping; MISSING where it lacks the field


def config_diff(items: Sequence[Any]) -> list[DiffRow]:
    """The fields whose values are not the same in all of ``items``, one row each.

    Mappings are walked into, so a row names the innermost field that differs; lists and
    other values are compared whole. A field only some items have is a row, with
    :data:`MISSING` for the others. Equal items give no rows.

    >>> config_diff([{"lr": 1e-4, "lora": {"r": 8, "alpha": 16}}, {"lr": 1e-4, "lora": {"r": 16, "alpha": 16}}])
    [DiffRow(path=('lora', 'r'), values=(8, 16))]
    >>> config_diff([{"a": 1}, {"a": 1}])
    []
    """
    rows: list[DiffRow] = []
    _walk((), tuple(items), rows)
    return rows


def _walk(path: tuple[str, ...], values: tuple[Any, ...], rows: list[DiffRow]) -> None:
    present = [v for v in values if v is not MISSING]
    if present and all(isinstance(v, Mapping) for v in present):
        keys: dict[str, None] = {}
        for value in present:
            keys.update(dict.fromkeys(str(k) for k in value))
        for key in keys:
            _walk(
                (*path, key),
                tuple(MISSING if v is MISSING or key not in v else v[key] for v in values),
                rows,
            )
        return
    if len(present) < len(values) or len({_canonical(v) for v in present}) > 1:
        rows.append(DiffRow(path, values))


def _canonical(value: Any) -> str:
    # 1 and True, or 1 and 1.0, are equal in Python but not the same setting.
    return json.dumps(value, sort_keys=True, default=repr)


def shown(value: Any) -> str:
    """A value as the diff table writes it."""
    if value is MISSING:
        return "not set"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=repr)


def _thin(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(points) <= MAX_POINTS:
        return points
    stride = math.ceil(len(points) / MAX_POINTS)
    kept = points[::stride]
    if kept[-1] is not points[-1]:
        kept.append(points[-1])
    return kept


def _metric_key(name: str, split: str) -> str:
    return f"{name}|{split}"


def _metrics(runs: list[Run]) -> tuple[list[dict[str, Any]], dict[str, dict[int, float]]]:
    """The page's charts (one per metric, a series per run and job) and each metric's final
    value per run: the last number of the job that reported it last."""
    charts: dict[str, dict[str, Any]] = {}
    finals: dict[str, dict[int, tuple[int, float]]] = {}
    for run in runs:
        for series in metric_series(run):
            key = _metric_key(series["name"], series["split"])
            chart = charts.setdefault(key, {"key": key, "name": series["name"], "split": series["split"], "series": []})
            points = [p for p in series["points"] if p["value"] is not None]
            if not points:
                continue
            thinned = _thin(points)
            chart["series"].append(
                {
                    "run": run.pk,
                    "job": series["job"],
                    "x": [p["step"] for p in thinned],
                    "y": [p["value"] for p in thinned],
                }
            )
            last = points[-1]
            best = finals.setdefault(key, {}).get(run.pk)
            if best is None or last["step"] >= best[0]:
                finals[key][run.pk] = (last["step"], last["value"])
    names = [c["name"] for c in charts.values() if c["series"]]
    ordered = sorted(
        (c for c in charts.values() if c["series"]),
        key=lambda c: (
            METRIC_ORDER.index(c["name"]) if c["name"] in METRIC_ORDER else len(METRIC_ORDER),
            c["name"],
            c["split"],
        ),
    )
    for chart in ordered:
        # The split only where one name is reported under both.
        chart["title"] = chart["name"] if names.count(chart["name"]) == 1 else f"{chart['name']} ({chart['split']})"
    return ordered, {key: {run: value for run, (_, value) in per_run.items()} for key, per_run in finals.items()}


def _config_rows(runs: list[Run]) -> tuple[list[Run], list[dict[str, Any]]]:
    """The runs that recorded their jobs' configurations, and the fields that differ
    between them, grouped by job."""
    configs: dict[int, dict[str, Any]] = {run.pk: {} for run in runs}
    for run in runs:
        for job in run.job_runs.all():
            if isinstance(job.config, dict):
                configs[run.pk][job.job_id] = job.config
    recorded = [run for run in runs if configs[run.pk]]
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in config_diff([configs[run.pk] for run in recorded]) if len(recorded) >= MIN_RUNS else []:
        job_id, field = row.path[0], ".".join(row.path[1:])
        groups.setdefault(job_id, []).append(_row(field or "(the whole job)", row.values))
    return recorded, [{"job": job_id, "rows": rows} for job_id, rows in groups.items()]


def _row(field: str, values: Sequence[Any]) -> dict[str, Any]:
    return {"field": field, "cells": [{"text": shown(v), "missing": v is MISSING} for v in values]}


def compare(request: HttpRequest, slug: str) -> HttpResponse:
    ws = get_workspace_or_404(request.user, slug)
    given = request.GET.getlist("runs")
    context: dict[str, Any] = {"workspace": ws, "runs": []}
    if not given:
        context["problem"] = f"Choose {MIN_RUNS} to {MAX_RUNS} runs to compare: tick them in a runs table."
        return render(request, "training/compare.html", context)
    try:
        # A form without script sends runs=12&runs=14: the same comparison.
        ids = parse_run_ids(",".join(given)[:1000])
    except CompareRefused as exc:
        context["problem"] = str(exc)
        return render(request, "training/compare.html", context, status=400)
    canonical = reverse("training:compare", kwargs={"slug": ws.slug}) + "?runs=" + ",".join(map(str, ids))
    if len(given) > 1:
        return redirect(canonical)
    found = {
        run.pk: run
        for run in with_headline(ws.runs.filter(pk__in=ids).select_related("document", "created_by")).prefetch_related(
            "job_runs"
        )
    }
    if len(found) < len(ids):
        # Another workspace's run reads as one that does not exist.
        raise Http404("No such run in this workspace")
    runs = [found[run_id] for run_id in ids]
    for index, run in enumerate(runs):
        run.headline = headline_metric(run)
        run.colour = index
        run.label = f"#{run.pk} {run.workflow_id}"
        others = [r for r in ids if r != run.pk]
        run.without_url = (
            reverse("training:compare", kwargs={"slug": ws.slug}) + "?runs=" + ",".join(map(str, others))
            if len(others) >= MIN_RUNS
            else None
        )
    charts, finals = _metrics(runs)
    recorded, config_groups = _config_rows(runs)
    inputs = config_diff([run.inputs if isinstance(run.inputs, dict) else {} for run in runs])
    context.update(
        {
            "runs": runs,
            "share_url": request.build_absolute_uri(canonical),
            "final_rows": [
                {"title": c["title"], "values": [finals.get(c["key"], {}).get(run.pk) for run in runs]} for c in charts
            ],
            "config_runs": recorded,
            "unrecorded": [run for run in runs if run not in recorded],
            "config_groups": config_groups,
            "input_rows": [_row(".".join(row.path), row.values) for row in inputs],
            "chart_data": {
                "runs": [{"id": run.pk, "label": run.label, "colour": run.colour} for run in runs],
                "charts": [{"key": c["key"], "title": c["title"], "series": c["series"]} for c in charts],
            },
        }
    )
    return render(request, "training/compare.html", context)
