"""The trainer snippets of the user's document (seed §9.3-9.8) run as written.

Each snippet is the document's YAML; the test only points ``model`` at the tiny local
model, binds ``dataset``/``eval_dataset`` to a small saved data set, and caps the steps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.jobspec import JobSpec
from compose.schema.components import TrainerComponent
from runner.finetune.errors import ConfigProblem
from tests.compose.seed_blocks import seed_blocks
from tests.fixtures import data
from tests.fixtures.training import run_trainer, save_dataset

pytestmark = pytest.mark.slow


def _trainer_snippets() -> dict[str, dict]:
    """Every model-trainer component of the chapter's YAML blocks, read from the document."""
    found = {}
    for block in seed_blocks():
        for component in (block.data or {}).get("components") or []:
            if component.get("type") == "model-trainer":
                fields = {k: v for k, v in component.items() if k not in ("id", "type")}
                found[f"{block.section}-{component['id']}@{block.line}"] = fields
    return found


SNIPPETS = _trainer_snippets()


def test_the_chapter_has_trainer_snippets_in_every_training_section() -> None:
    sections = {name.split("-")[0] for name in SNIPPETS}
    assert {"9.1.2", "9.3.1", "9.3.6", "9.4.1", "9.5.5", "9.8.1", "9.8.2", "9.8.3"} <= sections


def _rows_for(fields: dict) -> list[dict]:
    prompt = fields.get("prompt_column")
    if prompt == "instruction":
        return data.instruction_rows(16)
    if prompt == "user_input":
        return [{"user_input": r["prompt"], "assistant_response": r["response"]} for r in data.prompt_response_rows(16)]
    if prompt:
        return data.system_prompt_response_rows(16)
    return data.text_rows(16)


@pytest.mark.parametrize("name", list(SNIPPETS))
def test_seed_snippet_runs(tmp_path: Path, tiny_causal_lm_dir: Path, name: str) -> None:
    fields = dict(SNIPPETS[name])
    storage = tmp_path / "storage"
    rows = _rows_for(fields)
    # What the engine does: bind the ${input.*} data sets, fill the workspace's base model.
    fields["dataset"] = save_dataset(storage, rows)
    if "eval_dataset" in fields or "eval_steps" in fields:
        fields["eval_dataset"] = save_dataset(storage, rows[:4])
    fields.update(id="trainer", model=str(tiny_causal_lm_dir), max_steps=2)
    config = TrainerComponent.model_validate(fields).model_dump(mode="json")
    spec = JobSpec(
        run_id="r",
        job_id="train",
        component_id="trainer",
        component_type="model-trainer",
        method="train",
        config=config,
        base_dir=str(tmp_path),
        storage_dir=str(storage),
    )

    if "resume_from_checkpoint" in fields:
        # §9.7.2 names a checkpoint of an earlier run; in a fresh folder the run is refused
        # up front, naming it (resuming itself is pinned in test_resume_cancel.py).
        with pytest.raises(ConfigProblem, match="checkpoint-1000' not found"):
            run_trainer(spec)
        return

    output, seen = run_trainer(spec)

    assert output["global_step"] == 2
    out = Path(output["output_dir"])
    assert out == (tmp_path / fields.get("output_dir", "./output")).resolve()
    assert (out / ("adapter_config.json" if fields.get("peft_adapter") else "config.json")).is_file()
    assert (out / "compose-config.json").is_file()
    if "eval_dataset" in fields:
        assert "eval_loss" in output["metrics"] and "perplexity" in output["metrics"]
