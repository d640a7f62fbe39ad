"""The ``datasets`` component: load, concat, select, filter and map, materialized by fingerprint.

``run_dataset_job(ctx)`` runs one job and returns its dataset reference;
``load_reference(ref, storage_dir)`` opens a reference as a ``datasets.Dataset``.
"""
from runner.datasets.job import run_dataset_job
from runner.datasets.materialize import load_reference

__all__ = ["run_dataset_job", "load_reference"]
