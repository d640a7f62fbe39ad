"""Benchmarks: our runner against the same work written directly with the libraries."""
