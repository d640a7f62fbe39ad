"""The worker side of a run: claim it, walk its workflow, record what the jobs report."""
from training.worker.execute import execute_run, stop_active_runs, worker_name

__all__ = ["execute_run", "stop_active_runs", "worker_name"]
