"""The run form: one typed input per workflow input (``compose.inputs.workflow_inputs``),
each with a "several values" field beside it that turns the run into a sweep (``compose.sweep``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms


def _hint_kind(spec: Any) -> str | None:
    hint = getattr(spec, "hint", None)
    return getattr(hint, "kind", None) if hint is not None else None


def _initial(spec: Any) -> Any:
    default = getattr(spec, "default", None)
    if default is None:
        return None
    if spec.type == "json" and not isinstance(default, str):
        return json.dumps(default)
    return default


def input_field(spec: Any, describe: Callable[[str], str] = str) -> forms.Field:
    """The form field for one :class:`compose.inputs.InputSpec`; ``describe`` names the
    fields that read it (``components[1].learning_rate`` -> ``trainer.learning_rate``)."""
    required = bool(getattr(spec, "required", False))
    parts = [getattr(spec, "help", "") or ""]
    used_by = getattr(spec, "used_by", None)
    if used_by:
        parts.append("Used by " + ", ".join(describe(path) for path in used_by) + ".")
    help_text = " ".join(part for part in parts if part)
    common = {"required": False, "label": spec.name, "help_text": help_text, "initial": _initial(spec)}
    kind = _hint_kind(spec)
    attrs: dict[str, Any] = {"data-input": spec.name}
    if required:
        attrs["required"] = True
    if kind == "select":
        options = [str(o) for o in spec.hint.options]
        choices = ([] if required else [("", "—")]) + [(o, o) for o in options]
        return forms.ChoiceField(choices=choices, widget=forms.Select(attrs=attrs), **common)
    if kind == "slider":
        hint = spec.hint
        attrs.update({"min": hint.min, "max": hint.max, "step": hint.step or "any", "data-slider": ""})
        return forms.CharField(widget=forms.NumberInput(attrs={**attrs, "type": "range"}), **common)
    if spec.type == "boolean":
        common["initial"] = bool(common["initial"])
        return forms.BooleanField(widget=forms.CheckboxInput(attrs=attrs), **common)
    if spec.type in ("number", "integer"):
        attrs["step"] = "1" if spec.type == "integer" else "any"
        return forms.CharField(widget=forms.NumberInput(attrs=attrs), **common)
    if spec.type == "json":
        return forms.CharField(widget=forms.Textarea(attrs={**attrs, "rows": 3, "class": "mono"}), **common)
    return forms.CharField(widget=forms.Textarea(attrs={**attrs, "rows": 3}), **common)


SWEEP_PREFIX = "sweep."  # no input's name holds a dot (${input.a.b} is input `a`), so no clash


def sweep_field(spec: Any) -> forms.Field:
    """The "several values" text of one input: commas between values, or a JSON list."""
    if spec.type == "json":
        example, how = "[[0, 1], [2, 3]]", "written as a JSON list"
    else:
        example = _sweep_example(spec)
        how = 'separated by commas; a JSON list when a value holds a comma: ["a, b", "c"]'
    attrs = {
        "data-sweep": spec.name,
        "data-type": spec.type,
        "placeholder": f"e.g. {example}",
        "class": "mono",
        "aria-label": f"{spec.name}: several values",
    }
    return forms.CharField(
        required=False,
        label=f"{spec.name}: several values",
        help_text=f"One run for each value, {how}. With several inputs swept, one run for each combination.",
        widget=forms.TextInput(attrs=attrs),
    )


def _sweep_example(spec: Any) -> str:
    if _hint_kind(spec) == "select":
        return ", ".join(str(o) for o in spec.hint.options[:3])
    return {"number": "1e-4, 5e-5, 2e-5", "integer": "8, 16", "boolean": "true, false"}.get(spec.type, "first, second")


class RunForm(forms.Form):
    """Raw values go to ``enqueue_run`` (or ``enqueue_sweep`` when some input has several
    values), which types and checks them (problems come back per input)."""

    def __init__(self, *args: Any, specs: list[Any], describe: Callable[[str], str] = str, **kwargs: Any):
        self.specs = specs
        super().__init__(*args, **kwargs)
        for spec in specs:
            self.fields[spec.name] = input_field(spec, describe)
            self.fields[SWEEP_PREFIX + spec.name] = sweep_field(spec)

    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """Each input's field and its "several values" field, for the template."""
        return [(self[spec.name], self[SWEEP_PREFIX + spec.name]) for spec in self.specs]

    def swept(self) -> dict[str, str]:
        """{input: its several values as typed} for the inputs given several values."""
        out: dict[str, str] = {}
        for spec in self.specs:
            text = self.cleaned_data.get(SWEEP_PREFIX + spec.name) or ""
            if text.strip():
                out[spec.name] = text
        return out

    def raw_inputs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in self.specs:
            value = self.cleaned_data.get(spec.name)
            if spec.type == "boolean" and _hint_kind(spec) is None:
                out[spec.name] = bool(value)
            elif value not in (None, ""):
                out[spec.name] = value
        return out
