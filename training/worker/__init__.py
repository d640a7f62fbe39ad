"""The worker side of a run: claim it, walk its workflow, record what the jobs report.

Modules import downward only: ``fleet`` (this process in the fleet, and the task's entry
:func:`execute_run`) -> ``execute`` (one claimed run) -> ``heartbeat``, ``recorder``,
``hardware`` -> :mod:`training.actions`.
"""

from training.worker.execute import stop_active_runs, worker_name
from training.worker.fleet import execute_run

__all__ = ["execute_run", "stop_active_runs", "worker_name"]
