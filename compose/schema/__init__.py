"""Pydantic models of a compose file."""
from compose.schema.components import (  # noqa: F401
    COMPONENT_TYPES, Component, DatasetsComponent, ResourceSpec, TrainerComponent, WhereCondition,
)
