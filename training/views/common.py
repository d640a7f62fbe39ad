"""Helpers the views share: parsing a document's text and shaping problems for pages and JSON."""
from __future__ import annotations

from typing import Any, Iterable, Optional

from compose.errors import Problem
from compose.loader import ParseResult


def parse_text(text: str, source: str = "<document>") -> ParseResult:
    """Parse a compose file; never raises on bad input (errors come back as problems)."""
    from compose.loader import parse

    return parse(text, source=source)


def problem_dicts(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    return [p.to_dict() for p in problems]


def headline_metric(run: Any) -> Optional[tuple[str, float]]:
    """The number a run list shows: the last eval loss, else the last training loss, else accuracy."""
    from training.models import MetricPoint

    for name in ("eval_loss", "loss", "accuracy"):
        point = (MetricPoint.objects.filter(run=run, name=name, value__isnull=False)
                 .order_by("-step", "-id").values_list("value", flat=True).first())
        if point is not None:
            return name, point
    return None


def new_errors(before: ParseResult, problems: Iterable[Problem]) -> list[Problem]:
    """The errors in ``problems`` that the text parsed as ``before`` did not have."""
    known = {(p.path, p.message) for p in before.errors}
    return [p for p in problems if p.is_error and (p.path, p.message) not in known]
