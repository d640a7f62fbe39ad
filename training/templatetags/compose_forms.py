"""Template helpers for the schema-built editor forms."""

from __future__ import annotations

from typing import Any

from django import template

from training.forms.component import form_name

register = template.Library()


@register.filter
def errors_for(field_errors: dict[str, list[str]], spec_name: str) -> list[str]:
    return field_errors.get(form_name(spec_name), []) if field_errors else []


@register.filter
def html_name(spec_name: str) -> str:
    return form_name(spec_name)


@register.filter
def methods_of(group_methods: dict[str, tuple[str, ...]], title: str) -> str:
    return " ".join(group_methods.get(title, ())) if group_methods else ""


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key) if mapping else None
