"""A resumed run's past: the step it continues from and the curves of the runs before it."""

from __future__ import annotations

from typing import Any, cast

from training.models import Artifact, MetricPoint, Run


def resumed_step(run: Run) -> int | None:
    """The step of the checkpoint a resumed run continues: the newest one its line saved."""
    ancestor, seen = run.resumed_from, set()
    while ancestor is not None and ancestor.pk not in seen:
        seen.add(ancestor.pk)
        # step=None is excluded: what is left are numbers
        steps = cast(
            list[int],
            list(
                Artifact.objects.filter(run=ancestor, kind=Artifact.Kind.CHECKPOINT, deleted=None)
                .exclude(step=None)
                .values_list("step", flat=True)
            ),
        )
        if steps:
            return max(steps)
        ancestor = ancestor.resumed_from
    return None


def earlier_metrics(run: Run) -> list[dict[str, Any]]:
    """Metric events of the runs ``run`` continues, each cut at the step the next one took
    over, oldest first, shaped as the run page's live metric events."""
    chain: list[tuple[Run, int | None]] = []
    child, seen = run, {run.pk}
    while child.resumed_from_id is not None and child.resumed_from_id not in seen:
        parent = child.resumed_from
        assert parent is not None  # its id is set
        seen.add(parent.pk)
        chain.append((parent, resumed_step(child)))
        child = parent
    out: list[dict[str, Any]] = []
    for parent, until in reversed(chain):
        points = MetricPoint.objects.filter(run=parent)
        if until is not None:
            points = points.filter(step__lte=until)
        grouped: dict[tuple[str, int, str], dict[str, Any]] = {}
        for job_id, step, split, name, value in points.order_by("step", "id").values_list(
            "job_id", "step", "split", "name", "value"
        ):
            event = grouped.setdefault(
                (job_id, step, split), {"type": "metric", "job": job_id, "step": step, "split": split, "values": {}}
            )
            event["values"][name] = value
        out.extend(grouped.values())
    return out
