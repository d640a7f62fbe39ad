"""What a run needs of a worker: GPUs, worker labels and GPU memory, from its jobs.

Computed from the document when a run is queued (the server's placement matches it against
its workers) and shown on the run form before that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compose.schema.workflow import ComponentDoc, ComposeFile, Job


@dataclass(frozen=True)
class Need:
    gpus: int = 0
    labels: tuple[str, ...] = ()
    gpu_memory_gb: float | None = None

    def describe(self) -> str:
        parts = [f"{self.gpus} GPU{'s' if self.gpus != 1 else ''}" if self.gpus else "no GPU"]
        if self.gpu_memory_gb:
            parts.append(f"{self.gpu_memory_gb:g} GB each")
        if self.labels:
            parts.append("labels " + ", ".join(self.labels))
        return "; ".join(parts)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _resources(component: ComponentDoc, job: Job) -> dict[str, Any]:
    """The job's ``resources`` (its input's over the component's)."""
    given = job.input.get("resources", component.fields.get("resources"))
    return given if isinstance(given, dict) else {}


def _model_gpus(component: ComponentDoc, job: Job) -> int:
    """A ``type: model`` job asking for a GPU by its ``device`` (cuda or cuda:N) needs one."""
    device = job.input.get("device", component.fields.get("device"))
    return 1 if isinstance(device, str) and device.startswith("cuda") and "${" not in device else 0


def run_need(doc: ComposeFile, workflow_id: str | None) -> Need:
    """The most any one job of the workflow asks for (its jobs run one after another).

    A trainer needs ``resources.gpus`` GPUs (``processes`` without GPUs needs none), on a
    worker with every one of ``resources.labels`` and GPUs of at least
    ``resources.gpu_memory_gb``; a model job with ``device: cuda`` needs one GPU; data set
    jobs need none. A value left to a binding counts as none.
    """
    workflow = doc.workflow(workflow_id)
    if workflow is None:
        return Need()
    gpus, labels, memory = 0, set[str](), None
    for job in workflow.jobs:
        component = doc.component(job.component)
        if component is None:
            continue
        if component.type == "model":
            gpus = max(gpus, _model_gpus(component, job))
            continue
        if component.type != "model-trainer":
            continue
        resources = _resources(component, job)
        gpus = max(gpus, _int(resources.get("gpus")))
        found = resources.get("labels")
        if isinstance(found, str) and "${" not in found:
            found = [found]
        if isinstance(found, list):
            labels.update(str(x) for x in found if isinstance(x, (str, int)) and "${" not in str(x))
        gb = resources.get("gpu_memory_gb")
        if isinstance(gb, (int, float)) and not isinstance(gb, bool) and gb > 0:
            memory = max(memory or 0, float(gb))
    return Need(gpus, tuple(sorted(labels)), memory)
