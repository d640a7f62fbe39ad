"""Helpers the views share: parsing a document's text and shaping problems for pages and JSON."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from compose.errors import Problem
from compose.loader import ParseResult


def parse_text(text: str, source: str = "<document>") -> ParseResult:
    """Parse a compose file; never raises on bad input (errors come back as problems)."""
    from compose.loader import parse

    return parse(text, source=source)


def problem_dicts(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    return [p.to_dict() for p in problems]


# Only classification reports accuracy, and it says more there than a loss does.
HEADLINE_METRICS = ("accuracy", "eval_loss", "loss")


def with_headline(runs: QuerySet) -> QuerySet:
    """Annotate each run with the last value of each headline metric (one query for a list)."""
    from training.models import MetricPoint

    def last(name: str) -> Subquery:
        points = MetricPoint.objects.filter(run=OuterRef("pk"), name=name, value__isnull=False)
        return Subquery(points.order_by("-step", "-id").values("value")[:1])

    return runs.annotate(**{f"headline_{name}": last(name) for name in HEADLINE_METRICS})


def headline_metric(run: Any) -> tuple[str, float] | None:
    """The number a run list shows: the last eval accuracy (classification), else the last
    eval loss, else the last training loss. ``run`` comes from :func:`with_headline`."""
    for name in HEADLINE_METRICS:
        value = getattr(run, f"headline_{name}", None)
        if value is not None:
            return name, value
    return None


def new_errors(before: ParseResult, problems: Iterable[Problem]) -> list[Problem]:
    """The errors in ``problems`` that the text parsed as ``before`` did not have."""
    known = {(p.path, p.message) for p in before.errors}
    return [p for p in problems if p.is_error and (p.path, p.message) not in known]
