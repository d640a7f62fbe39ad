"""Pydantic models of a compose file."""

from compose.schema.components import (
    COMPONENT_ADAPTER,
    COMPONENT_TYPES,
    DATASETS_OPERATIONS,
    Component,
    DatasetsComponent,
    ModelComponent,
    ResourceSpec,
    TrainerComponent,
    WhereCondition,
    job_model,
)

__all__ = [
    "COMPONENT_ADAPTER",
    "COMPONENT_TYPES",
    "DATASETS_OPERATIONS",
    "Component",
    "DatasetsComponent",
    "ModelComponent",
    "ResourceSpec",
    "TrainerComponent",
    "WhereCondition",
    "job_model",
]
