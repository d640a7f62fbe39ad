"""Materialized data sets: the ones the user's runs produced, and one data set's preview.

A page of the training app, not of ``datasets_app``: it lists the runs that made a data set,
and ``datasets_app`` (the model, its admin, the component's form layout) imports nothing
from ``training``.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from datasets_app.models import MaterializedDataset
from training.models import JobRun
from training.models.access import runs_for, workspaces_for


def datasets_for(user):
    """The data sets of the user's workspaces (each belongs to the workspace that made it)."""
    return MaterializedDataset.objects.filter(workspace__in=workspaces_for(user)).select_related("workspace")


def dataset_list(request: HttpRequest) -> HttpResponse:
    return render(request, "datasets_app/list.html", {"datasets": datasets_for(request.user)})


def dataset_detail(request: HttpRequest, fingerprint: str) -> HttpResponse:
    dataset = datasets_for(request.user).filter(fingerprint=fingerprint).first()
    if dataset is None:
        raise Http404("No such data set.")
    columns = list(dataset.columns.keys()) if isinstance(dataset.columns, dict) else []
    if not columns and dataset.preview:
        columns = list(dataset.preview[0].keys())
    runs = (
        JobRun.objects.filter(
            run__in=runs_for(request.user), run__workspace=dataset.workspace, output__fingerprint=fingerprint
        )
        .select_related("run")
        .order_by("-run__created")[:20]
    )
    return render(request, "datasets_app/detail.html", {"dataset": dataset, "columns": columns, "job_runs": runs})
