"""What a ``type: model`` job answered, as the run page shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compose.jobspec import is_dataset_ref


@dataclass(frozen=True)
class Answer:
    job_id: str
    texts: tuple[str, ...]  # one per returned sequence
    scores: tuple[tuple[str, float], ...] = ()  # a classification's label probabilities, best first


def answer_of(job_id: str, output: Any) -> Answer | None:
    """The answer in a model job's output for one input (over a data set, the answers are
    a data set, shown with the others); None for any other output."""
    if not isinstance(output, dict) or is_dataset_ref(output):
        return None
    if "generated_text" in output:
        value = output["generated_text"]
        return Answer(job_id, tuple(str(v) for v in value) if isinstance(value, list) else (str(value),))
    if "message" in output:
        messages = output["message"] if isinstance(output["message"], list) else [output["message"]]
        return Answer(job_id, tuple(str(m.get("content", "")) for m in messages if isinstance(m, dict)))
    if "label" in output and isinstance(output.get("scores"), dict):
        scores = sorted(((str(k), float(v)) for k, v in output["scores"].items()), key=lambda kv: -kv[1])
        return Answer(job_id, (str(output["label"]),), tuple(scores))
    return None


def answers_of(job_runs: list[Any]) -> list[Answer]:
    found = (answer_of(job.job_id, job.output) for job in job_runs)
    return [answer for answer in found if answer is not None]
