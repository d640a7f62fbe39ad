"""The run form: one typed input per workflow input (``compose.inputs.workflow_inputs``)."""
from __future__ import annotations

import json
from typing import Any, Callable

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


class RunForm(forms.Form):
    """Raw values go to ``enqueue_run``, which types and checks them (problems come back per input)."""

    def __init__(self, *args: Any, specs: list[Any], describe: Callable[[str], str] = str, **kwargs: Any):
        self.specs = specs
        super().__init__(*args, **kwargs)
        for spec in specs:
            self.fields[spec.name] = input_field(spec, describe)

    def raw_inputs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in self.specs:
            value = self.cleaned_data.get(spec.name)
            if spec.type == "boolean" and _hint_kind(spec) is None:
                out[spec.name] = bool(value)
            elif value not in (None, ""):
                out[spec.name] = value
        return out
