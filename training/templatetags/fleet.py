"""What a run needs and why it waits, for the run form and the run page."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def workflow_need(document, workflow_id: str) -> str:
    """The run form's "Needs: ..." line, and why no worker could hold it when none could."""
    from training.actions.placement import refusal
    from training.actions.runs import need_of

    need = need_of(document.yaml_text, workflow_id)
    reason = refusal(need, document.workspace)
    return need.describe() + (f" (refused: {reason})" if reason else "")


@register.simple_tag
def run_waiting(run) -> str:
    """A queued run's "Needs 2 GPUs; waiting for 2 GPUs; 3 of 4 busy: #41, #42"."""
    from training.actions.placement import stored_need, waiting_reason

    return f"Needs {stored_need(run).describe()}; {waiting_reason(run)}"
