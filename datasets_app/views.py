"""Materialized data sets: the ones the user's runs produced, and one data set's preview."""
from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from datasets_app.models import MaterializedDataset
from training.models import JobRun
from training.models.access import runs_for


def _fingerprints_for(user) -> set[str]:
    """Fingerprints of data sets produced by runs in the user's workspaces."""
    outputs = JobRun.objects.filter(run__in=runs_for(user), output__type="dataset").values_list("output", flat=True)
    return {o.get("fingerprint") for o in outputs if isinstance(o, dict) and o.get("fingerprint")}


def dataset_list(request: HttpRequest) -> HttpResponse:
    datasets = MaterializedDataset.objects.filter(fingerprint__in=_fingerprints_for(request.user))
    return render(request, "datasets_app/list.html", {"datasets": datasets})


def dataset_detail(request: HttpRequest, fingerprint: str) -> HttpResponse:
    if fingerprint not in _fingerprints_for(request.user):
        raise Http404("No such data set.")
    dataset = MaterializedDataset.objects.filter(fingerprint=fingerprint).first()
    if dataset is None:
        raise Http404("No such data set.")
    columns = list(dataset.columns.keys()) if isinstance(dataset.columns, dict) else []
    if not columns and dataset.preview:
        columns = list(dataset.preview[0].keys())
    runs = (JobRun.objects.filter(run__in=runs_for(request.user), output__fingerprint=fingerprint)
            .select_related("run").order_by("-run__created")[:20])
    return render(request, "datasets_app/detail.html", {"dataset": dataset, "columns": columns, "job_runs": runs})
