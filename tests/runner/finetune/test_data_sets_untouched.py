"""Training reads the materialized data sets and never writes beside them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import data
from tests.fixtures.training import run_trainer, trainer_spec

pytestmark = pytest.mark.slow

ONE_STEP = dict(max_steps=1, per_device_train_batch_size=4, save_steps=None)


def stored_files(tmp_path: Path) -> dict[str, int]:
    root = tmp_path / "storage" / "datasets"
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("task", ["sft", "classification"])
def test_training_leaves_the_data_set_folders_as_they_were(
    tmp_path: Path, task: str, tiny_causal_lm_dir: Path, tiny_classifier_dir: Path
) -> None:
    from datasets import is_caching_enabled

    if task == "sft":
        spec = trainer_spec(
            tmp_path,
            tiny_causal_lm_dir,
            data.prompt_response_rows(8),
            eval_rows=data.prompt_response_rows(4),
            prompt_column="prompt",
            response_column="response",
            **ONE_STEP,
        )
    else:
        spec = trainer_spec(
            tmp_path,
            tiny_classifier_dir,
            data.classification_rows(8),
            task="classification",
            eval_rows=data.classification_rows(4),
            **ONE_STEP,
        )
    before = stored_files(tmp_path)
    for _ in range(2):  # a rerun on the same data adds nothing either
        run_trainer(spec)
    assert stored_files(tmp_path) == before
    assert is_caching_enabled()  # the rest of the process keeps datasets' caching
