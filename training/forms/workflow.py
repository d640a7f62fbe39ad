"""The workflow editor form: per job its component, method, input bindings and dependencies."""

from __future__ import annotations

from typing import Any

import yaml
from django import forms

from compose.schema.components import DATASET_METHODS
from compose.schema.workflow import ComponentDoc, Workflow
from compose.yamlio.bounded import load_value

from .component import REMOVE


def _input_text(value: dict[str, Any]) -> str:
    if not value:
        return ""
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=False, allow_unicode=True).strip()


def _parse_input(raw: str) -> dict[str, Any]:
    raw = raw.strip()
    if not raw:
        return {}
    try:
        value = load_value(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise forms.ValidationError(f"Not valid YAML{where}.") from None
    if not isinstance(value, dict):
        raise forms.ValidationError("Write one `key: value` per line, e.g. dataset: ${jobs.load.output}.")
    return value


class WorkflowForm(forms.Form):
    """Fields are named ``job<j>-<part>``; a last row ``new-<part>`` adds a job."""

    def __init__(self, *args: Any, workflow: Workflow, components: list[ComponentDoc], **kwargs: Any):
        self.workflow = workflow
        self.components = {c.id: c for c in components}
        initial: dict[str, Any] = {}
        for j, job in enumerate(workflow.jobs):
            initial.update(
                {
                    f"job{j}-component": job.component,
                    f"job{j}-method": job.method or "",
                    f"job{j}-input": _input_text(job.input),
                    f"job{j}-depends_on": list(job.depends_on),
                }
            )
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        component_choices = [(c, f"{c} ({self.components[c].type})") for c in self.components]
        job_ids = [job.id for job in workflow.jobs]
        for j, job in enumerate(workflow.jobs):
            self._job_fields(f"job{j}", component_choices, [i for i in job_ids if i != job.id], job.method)
            self.fields[f"job{j}-remove"] = forms.BooleanField(required=False, label="remove this job")
        self._job_fields("new", [("", "—")] + component_choices, job_ids, None)
        self.fields["new-id"] = forms.SlugField(required=False, label="new job id")

    def _job_fields(
        self, prefix: str, component_choices: list[tuple[str, str]], others: list[str], method: str | None
    ) -> None:
        self.fields[f"{prefix}-component"] = forms.ChoiceField(choices=component_choices, required=prefix != "new")
        self.fields[f"{prefix}-method"] = forms.ChoiceField(choices=self._method_choices(method), required=False)
        self.fields[f"{prefix}-input"] = forms.CharField(
            required=False,
            widget=forms.Textarea(
                attrs={"rows": 3, "class": "mono", "spellcheck": "false", "placeholder": "dataset: ${jobs.load.output}"}
            ),
        )
        self.fields[f"{prefix}-depends_on"] = forms.MultipleChoiceField(
            choices=[(o, o) for o in others], required=False, widget=forms.CheckboxSelectMultiple
        )

    def _method_choices(self, method: str | None) -> list[Any]:
        """A datasets method, or one of the actions a nested-dialect component names,
        grouped by the component they belong to."""
        choices: list[Any] = [("", "— (the component's)"), ("datasets methods", [(m, m) for m in DATASET_METHODS])]
        seen = set(DATASET_METHODS)
        for component in self.components.values():
            actions = [a for a in component.actions if a not in seen]
            if actions:
                choices.append((f"actions of {component.id}", [(a, a) for a in actions]))
                seen.update(actions)
        if method and method not in seen:
            choices.append((method, method))
        return choices

    def job_rows(self) -> list[dict[str, Any]]:
        rows = []
        for j, job in enumerate(self.workflow.jobs):
            rows.append(
                {
                    "index": j,
                    "job": job,
                    "component": self[f"job{j}-component"],
                    "method": self[f"job{j}-method"],
                    "input": self[f"job{j}-input"],
                    "depends_on": self[f"job{j}-depends_on"],
                    "remove": self[f"job{j}-remove"],
                }
            )
        return rows

    def new_row(self) -> dict[str, Any]:
        return {
            "id": self["new-id"],
            "component": self["new-component"],
            "method": self["new-method"],
            "input": self["new-input"],
            "depends_on": self["new-depends_on"],
        }

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        for prefix in [f"job{j}" for j in range(len(self.workflow.jobs))] + ["new"]:
            try:
                data[f"{prefix}-input-parsed"] = _parse_input(data.get(f"{prefix}-input") or "")
            except forms.ValidationError as exc:
                self.add_error(f"{prefix}-input", exc)
        new_id = data.get("new-id")
        if new_id:
            if new_id in {job.id for job in self.workflow.jobs}:
                self.add_error("new-id", f"A job named {new_id!r} exists already.")
            if not data.get("new-component"):
                self.add_error("new-component", "Pick the component the new job runs.")
        return data

    def changes(self) -> list[tuple[str, Any]]:
        """(path under the workflow, value or REMOVE) for the existing jobs that changed."""
        data = self.cleaned_data
        out: list[tuple[str, Any]] = []
        for j, job in enumerate(self.workflow.jobs):
            if data.get(f"job{j}-remove"):
                continue
            base = f"jobs[{j}]"
            component = data.get(f"job{j}-component")
            if component and component != job.component:
                out.append((f"{base}.component", component))
            method = data.get(f"job{j}-method") or None
            if method != job.method:
                out.append((f"{base}.method", method if method else REMOVE))
            if f"job{j}-input-parsed" in data:
                new_input = data[f"job{j}-input-parsed"]
                if new_input != job.input:
                    out.append((f"{base}.input", new_input if new_input else REMOVE))
            depends = [d for d in self.workflow_job_ids() if d in data.get(f"job{j}-depends_on", [])]
            if depends != list(job.depends_on) and set(depends) != set(job.depends_on):
                out.append((f"{base}.depends_on", depends if depends else REMOVE))
        return out

    def workflow_job_ids(self) -> list[str]:
        return [job.id for job in self.workflow.jobs]

    def removed(self) -> list[int]:
        return [j for j in range(len(self.workflow.jobs)) if self.cleaned_data.get(f"job{j}-remove")]

    def new_job(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("new-id") or not data.get("new-component"):
            return None
        job: dict[str, Any] = {"id": data["new-id"], "component": data["new-component"]}
        method = data.get("new-method")
        if method:
            # One of the component's named actions is picked with the nested dialect's own key.
            component = self.components.get(data["new-component"])
            job["action" if component is not None and method in component.actions else "method"] = method
        if data.get("new-input-parsed"):
            job["input"] = data["new-input-parsed"]
        if data.get("new-depends_on"):
            job["depends_on"] = list(data["new-depends_on"])
        return job
