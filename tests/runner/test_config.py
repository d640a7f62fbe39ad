"""A job's config is validated by the component union; its problems name the field."""

import pytest

from compose.jobspec import JobFailed
from compose.schema.components import DatasetsFilter, ModelComponent, TrainerComponent
from runner.config import validated_config


def test_problems_name_the_field_not_the_union_tags():
    with pytest.raises(JobFailed, match=r"invalid model config: model\b"):
        validated_config(
            ModelComponent, {"id": "m", "task": "text-generation", "prompt": "x", "model": 3}, "model config"
        )
    with pytest.raises(JobFailed, match=r"invalid datasets job: template: Extra inputs"):
        validated_config(
            DatasetsFilter, {"id": "d", "type": "datasets", "method": "filter", "template": "x"}, "datasets job"
        )
    with pytest.raises(JobFailed, match=r"invalid trainer: learning_rate: Input should be greater than 0"):
        validated_config(TrainerComponent, {"id": "t", "task": "sft", "learning_rate": -1}, "trainer")


def test_a_config_of_another_type_is_refused():
    config = {"id": "m", "type": "model", "task": "text-generation", "prompt": "x", "model": "m"}
    with pytest.raises(JobFailed, match="ModelComponent config"):
        validated_config(TrainerComponent, config, "trainer")
