"""``/api/v1/``: the REST API (django-ninja), described at ``/api/v1/openapi.json``."""

from training.api import documents, events, runs
from training.api.core import api

api.add_router("", documents.router)
api.add_router("", runs.router)
api.add_router("", events.router)

__all__ = ["api"]
