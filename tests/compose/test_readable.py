"""Problem and input paths in the document's own names."""

from __future__ import annotations

from compose.readable import readable_path
from compose.schema.workflow import ComponentDoc, ComposeFile, Job, Workflow

DOC = ComposeFile(
    components=[
        ComponentDoc(id="data", type="datasets", fields={}),
        ComponentDoc(id="trainer", type="model-trainer", fields={"task": "sft"}),
    ],
    workflows=[Workflow(id="w", jobs=[Job(id="load", component="data"), Job(id="train", component="trainer")])],
)


def test_component_and_job_paths_use_their_ids() -> None:
    assert readable_path(DOC, "components[1].learning_rate") == "trainer.learning_rate"
    assert readable_path(DOC, "components[1].lora.r") == "trainer.lora.r"
    assert readable_path(DOC, "components[0]") == "data"
    assert readable_path(DOC, "workflows[0].jobs[1].input.template") == "job train: input.template"


def test_a_path_that_names_nothing_comes_back_as_it_was() -> None:
    for path in ("components[5].x", "workflows[0].jobs[9].input.a", "inputs.template", ""):
        assert readable_path(DOC, path) == path
