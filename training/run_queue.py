"""Putting a run on the work queue, for the actions that decide a run is to be executed.

The Huey task that executes a run (:func:`training.tasks.execute_run`) sits above the
worker, and the worker above the actions; an action that imported it would close a cycle.
So :mod:`training.tasks` plugs its ``schedule_run`` in here when the app starts
(:meth:`training.apps.TrainingConfig.ready`), and the actions call :func:`schedule_run`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

_scheduler: Callable[[int], None] | None = None


def set_scheduler(scheduler: Callable[[int], None]) -> None:
    global _scheduler
    _scheduler = scheduler


def schedule_run(run_id: int) -> None:
    """Queue run ``run_id`` for a worker; called from ``transaction.on_commit``."""
    if _scheduler is None:
        raise ImproperlyConfigured(
            "no run queue: training.apps.TrainingConfig.ready() plugs training.tasks in, and it has not run"
        )
    _scheduler(run_id)
