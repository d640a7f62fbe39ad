"""A Django form for one component, built from its :class:`FieldSpec` groups.

Every input accepts a literal value or a ``${...}`` binding. An empty input means
"not written in the file" (the default applies). Cleaning turns the strings into YAML
values; :func:`changed_fields` compares them with the document so untouched keys keep
their original spelling (``5e-5`` stays ``5e-5``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml
from django import forms

from compose.yamlio.bounded import load_value

from .schema_fields import FieldGroup, FieldSpec

BINDING_CHOICE = "__binding__"
REMOVE = object()  # marks a key to delete from the document


def is_binding(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def form_name(spec_name: str) -> str:
    """HTML-safe field name for dotted spec names (``resources.gpus`` -> ``resources__gpus``)."""
    return spec_name.replace(".", "__")


def display_value(spec: FieldSpec, value: Any) -> str:
    """How a document value appears in its input."""
    if value is None:
        return ""
    if is_binding(value):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if spec.kind == "list" and isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, allow_unicode=True).strip()
    return str(value)


def parse_value(spec: FieldSpec, raw: str) -> Any:
    """Turn what was typed into the YAML value; raises ``forms.ValidationError``."""
    raw = raw.strip()
    if raw == "":
        return REMOVE
    if raw.startswith("${") and raw.endswith("}") and raw.count("${") == 1:
        return raw
    kind = spec.kind
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise forms.ValidationError("Enter a whole number or a ${...} binding.") from None
    if kind == "number":
        try:
            number = float(raw)
        except ValueError:
            raise forms.ValidationError("Enter a number (e.g. 5e-5) or a ${...} binding.") from None
        return int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
    if kind == "boolean":
        if raw.lower() in ("true", "yes", "on", "1"):
            return True
        if raw.lower() in ("false", "no", "off", "0"):
            return False
        raise forms.ValidationError("Choose true or false, or give a ${...} binding.")
    if kind == "choice":
        if raw not in spec.choices:
            raise forms.ValidationError(f"Choose one of: {', '.join(spec.choices)}.")
        return raw
    if kind == "list":
        if raw.startswith("["):
            return _yaml(raw)
        items = [item.strip() for item in raw.split(",") if item.strip()]
        if spec.name == "indices":
            try:
                return [int(i) for i in items]
            except ValueError:
                raise forms.ValidationError("Give row numbers separated by commas, e.g. 0, 1, 2.") from None
        return items
    if kind in ("mapping", "value"):
        return _yaml(raw)
    return raw


def _yaml(raw: str) -> Any:
    try:
        return load_value(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise forms.ValidationError(f"Not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None


def _same(spec: FieldSpec, old: Any, new: Any) -> bool:
    if new is REMOVE:
        return old is None
    if spec.kind in ("number", "integer") and isinstance(old, str) and not is_binding(old):
        try:
            return float(old) == float(new)
        except (TypeError, ValueError):
            return False
    return old == new


class ComponentForm(forms.Form):
    """Fields are added from ``groups``; ``initial_values`` are the component's current fields."""

    def __init__(self, *args: Any, groups: list[FieldGroup], current: dict[str, Any], **kwargs: Any):
        self.groups = groups
        self.current = current
        kwargs.setdefault(
            "initial", {form_name(s.name): display_value(s, _lookup(current, s.name)) for g in groups for s in g.fields}
        )
        super().__init__(*args, **kwargs)
        for group in groups:
            for spec in group.fields:
                self._add(spec)

    def _add(self, spec: FieldSpec) -> None:
        name = form_name(spec.name)
        attrs = {"data-field": spec.name, "aria-describedby": f"help-{name}"}
        default_label = f"default ({spec.default_text})"
        if spec.kind in ("choice", "boolean"):
            options = spec.choices if spec.kind == "choice" else ("true", "false")
            current = self.initial.get(name, "")
            choices = [("", default_label)] + [(o, o) for o in options]
            choices.append((BINDING_CHOICE, "${…} binding"))
            if is_binding(current):
                self.initial[name] = BINDING_CHOICE
                self.initial[f"{name}__binding"] = current
            self.fields[name] = forms.ChoiceField(
                required=False, choices=choices, widget=forms.Select(attrs={**attrs, "data-binding-select": ""})
            )
            self.fields[f"{name}__binding"] = forms.CharField(
                required=False,
                widget=forms.TextInput(
                    attrs={
                        "placeholder": "${input.name}",
                        "data-binding-for": name,
                        "class": "binding",
                        "aria-label": f"{spec.name} as a ${{...}} binding",
                    }
                ),
            )
        elif spec.kind in ("mapping",):
            self.fields[name] = forms.CharField(
                required=False,
                widget=forms.Textarea(attrs={**attrs, "rows": 2, "placeholder": default_label, "spellcheck": "false"}),
            )
        else:
            placeholder = default_label if not spec.required else "required"
            if spec.kind == "list":
                placeholder = "a, b, c  or  ${...}" if spec.default is None else placeholder
            widget_attrs = {**attrs, "placeholder": placeholder, "spellcheck": "false"}
            if spec.kind in ("integer", "number"):
                widget_attrs["inputmode"] = "decimal"
            self.fields[name] = forms.CharField(required=False, widget=forms.TextInput(attrs=widget_attrs))
        self.fields[name].spec = spec  # type: ignore[attr-defined]

    def spec_fields(self) -> Iterable[tuple[FieldGroup, list[tuple[FieldSpec, Any, Any]]]]:
        """(group, [(spec, bound field, binding bound field or None)]) for the template."""
        for group in self.groups:
            rows = []
            for spec in group.fields:
                name = form_name(spec.name)
                binding = self[f"{name}__binding"] if f"{name}__binding" in self.fields else None
                rows.append((spec, self[name], binding))
            yield group, rows

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        values: dict[str, Any] = {}
        for group in self.groups:
            for spec in group.fields:
                name = form_name(spec.name)
                raw = data.get(name) or ""
                if raw == BINDING_CHOICE:
                    raw = data.get(f"{name}__binding") or ""
                    if not raw.strip():
                        self.add_error(name, "Type the ${...} binding, or pick a value.")
                        continue
                try:
                    values[spec.name] = parse_value(spec, raw)
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        data["values"] = values
        return data

    def changed_fields(self) -> list[tuple[str, Any]]:
        """(dotted field name, new value or REMOVE) for every field that differs from the document."""
        out = []
        for group in self.groups:
            for spec in group.fields:
                if spec.name not in self.cleaned_data["values"]:
                    continue
                new = self.cleaned_data["values"][spec.name]
                if not _same(spec, _lookup(self.current, spec.name), new):
                    out.append((spec.name, new))
        return out


def _lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node
