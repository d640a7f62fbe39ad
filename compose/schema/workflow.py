"""Models of workflows, jobs and the whole compose file (SPEC §1, §4).

Component fields may hold ``${...}`` bindings until a run resolves them, so a
document keeps each component as its normalized field dict (``ComponentDoc.fields``),
checked against the canonical models in ``components.py`` for its literal values.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Job(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    component: str
    method: str | None = None  # datasets operation (seed) or action id (nested)
    input: dict[str, Any] = Field(default_factory=dict)
    output: Any = "${output}"
    depends_on: list[str] = Field(default_factory=list)
    title: str | None = None
    description: str | None = None


class Workflow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str | None = None
    description: str | None = None
    jobs: list[Job]
    output: Any = None  # None: the outputs of the jobs nothing depends on
    default: bool = False


class ComponentDoc(BaseModel):
    """A component as written: its id, type and normalized (seed-named) fields."""

    model_config = ConfigDict(extra="forbid")

    id: str
    type: str
    fields: dict[str, Any] = Field(default_factory=dict)
    # Nested dialect datasets components may define several named actions (normalized
    # fields, seed names, ``method`` included); a job picks one with ``action: <id>``,
    # stored in ``Job.method``.
    actions: dict[str, dict[str, Any]] = Field(default_factory=dict)
    default_action: str | None = None  # the action marked ``default: true``


class ComposeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    components: list[ComponentDoc] = Field(default_factory=list)
    workflows: list[Workflow] = Field(default_factory=list)
    controller: dict[str, Any] | None = None
    # Sections compose-web keeps on round trip but does not run (listeners, gateways...).
    other_sections: dict[str, Any] = Field(default_factory=dict)

    def component(self, component_id: str) -> ComponentDoc | None:
        return next((c for c in self.components if c.id == component_id), None)

    def workflow(self, workflow_id: str | None = None) -> Workflow | None:
        """The named workflow; without a name, the only one or the one marked default."""
        if workflow_id is not None:
            return next((w for w in self.workflows if w.id == workflow_id), None)
        if len(self.workflows) == 1:
            return self.workflows[0]
        return next((w for w in self.workflows if w.default), None)


JsonValue = dict[str, Any] | list[Any] | str | int | float | bool | None
