"""Problems found before training starts, phrased for the person who wrote the YAML."""

from __future__ import annotations

from compose.jobspec import JobFailed


class ConfigProblem(JobFailed):
    """A field value this machine or this data set cannot train with; names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
