"""Display helpers shared by every page: times, durations, numbers, status badges."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from compose.humanize import human_duration, round_half_up

register = template.Library()

STATUS_CLASSES = {
    "queued": "badge-queued",
    "running": "badge-running",
    "succeeded": "badge-ok",
    "failed": "badge-failed",
    "cancelled": "badge-cancelled",
    "interrupted": "badge-failed",
    "skipped": "badge-skipped",
}


def format_number(value: Any) -> str:
    """Short readable numbers: ``0.00012`` -> ``1.2e-4``, ``12345`` -> ``12.3k``."""
    if value is None or value == "":
        return "—"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    ax = abs(x)
    if ax < 1e-3:
        mantissa, exponent = f"{x:.1e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    if ax < 1000:
        if float(x).is_integer():
            return str(int(x))
        return f"{float(_half_up(x, Decimal(1).scaleb(Decimal(x).adjusted() - 3))):g}"
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if ax >= scale:
            return str(_half_up(x / scale, Decimal("0.1"))).rstrip("0").rstrip(".") + suffix
    return str(x)


def _half_up(x: float, step: Decimal) -> Decimal:
    """``x`` to a multiple of ``step``, a tie away from zero, as JavaScript's ``toFixed`` and
    ``toPrecision`` round (``f"{1.25:.1f}"`` gives 1.2, the page 1.3)."""
    return Decimal(x).quantize(step, rounding=ROUND_HALF_UP)


def relative_time(moment: datetime, now: datetime | None = None) -> str:
    now = now or timezone.now()
    delta = now - moment
    future = delta < timedelta(0)
    seconds = abs(delta.total_seconds())
    if seconds < 45:
        text = "just now" if not future else "in a moment"
        return text
    if seconds < 3600:
        amount = f"{round_half_up(seconds / 60)} min"
    elif seconds < 86400:
        amount = f"{round_half_up(seconds / 3600)} h"
    else:
        amount = f"{round_half_up(seconds / 86400)} d"
    return f"in {amount}" if future else f"{amount} ago"


@register.filter
def duration(seconds: float | None) -> str:
    return human_duration(seconds)


@register.filter
def num(value: Any) -> str:
    return format_number(value)


@register.filter
def as_yaml(value: Any) -> str:
    """Plain data as block YAML, keys in their order (the page escapes it)."""
    import yaml

    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


@register.simple_tag
def reltime(moment: datetime | None) -> str:
    """A relative time with the exact time on hover; pages refresh the text every minute."""
    if moment is None:
        return mark_safe('<span class="muted">—</span>')
    local = timezone.localtime(moment)
    return format_html(
        '<time datetime="{}" title="{}" data-relative>{}</time>',
        moment.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
        relative_time(moment),
    )


@register.simple_tag
def status_badge(status: str | None) -> str:
    status = status or "unknown"
    return format_html(
        '<span class="badge {}" data-status="{}">{}</span>', STATUS_CLASSES.get(status, "badge-queued"), status, status
    )


# Every status a badge may show: a job's first one is pending (a run's never is).
BADGE_STATUSES = ("pending", *STATUS_CLASSES)


@register.simple_tag
def status_badge_templates() -> str:
    """Each status's badge inside an inert ``<template>``: the run page's script clones the
    one it needs, so a badge is only ever drawn by :func:`status_badge`."""
    return format_html(
        '<template id="status-badges">{}</template>',
        mark_safe("".join(status_badge(status) for status in BADGE_STATUSES)),
    )


@register.simple_tag
def run_duration(run: Any) -> str:
    """Wall time of a run (so far, while it runs)."""
    started = getattr(run, "started", None)
    if started is None:
        return "—"
    end = getattr(run, "finished", None) or timezone.now()
    return human_duration((end - started).total_seconds())
