"""Job graph checks and run order (SPEC §3-4)."""

import graphlib

import pytest

from compose.graph import job_order, terminal_jobs, workflow_problems
from compose.schema.workflow import ComponentDoc, ComposeFile, Job, Workflow


def loader():
    return ComponentDoc(
        id="dataset-loader", type="datasets", fields={"provider": "huggingface", "path": "tatsu-lab/alpaca"}
    )


def ops(**fields):
    return ComponentDoc(id="dataset-ops", type="datasets", fields=fields)


def trainer():
    return ComponentDoc(
        id="trainer", type="model-trainer", fields={"task": "sft", "dataset": "${input.dataset}", "text_column": "text"}
    )


def doc(*jobs, components=None, output=None):
    return ComposeFile(
        components=components or [loader(), ops(), trainer()],
        workflows=[Workflow(id="wf", jobs=list(jobs), output=output)],
    )


def messages(d):
    return [(p.path, p.message) for p in workflow_problems(d)]


def test_seed_merge_example_is_clean():
    d = doc(
        Job(id="load-first", component="dataset-loader", input={"path": "tatsu-lab/alpaca", "split": "train"}),
        Job(id="load-second", component="dataset-loader", input={"path": "yahma/alpaca-cleaned"}),
        Job(
            id="concat",
            component="dataset-ops",
            method="concat",
            input={"datasets": ["${jobs.load-first.output}", "${jobs.load-second.output}"]},
            depends_on=["load-first", "load-second"],
        ),
    )
    assert messages(d) == []
    assert job_order(d.workflows[0]) == [["load-first", "load-second"], ["concat"]]
    assert terminal_jobs(d.workflows[0]) == ["concat"]


def test_cycle_is_named_as_a_loop():
    d = doc(
        Job(id="a", component="dataset-loader", depends_on=["b"]),
        Job(id="b", component="dataset-loader", depends_on=["a"]),
    )
    (problem,) = workflow_problems(d)
    assert problem.path.startswith("workflows[0].jobs[") and problem.path.endswith(".depends_on")
    assert "loop" in problem.message
    assert ("a -> b -> a" in problem.message) or ("b -> a -> b" in problem.message)
    with pytest.raises(graphlib.CycleError):
        job_order(d.workflows[0])


def test_self_dependency_is_a_loop():
    d = doc(Job(id="a", component="dataset-loader", depends_on=["a"]))
    assert any("a -> a" in m for _, m in messages(d))


def test_unknown_dependency_suggests_the_close_id():
    d = doc(
        Job(id="load", component="dataset-loader"),
        Job(id="select", component="dataset-ops", method="select", depends_on=["laod"]),
    )
    assert messages(d) == [
        ("workflows[0].jobs[1].depends_on[0]", "no job `laod` in workflow `wf` (did you mean `load`?)")
    ]


def test_duplicate_job_ids():
    d = doc(Job(id="load", component="dataset-loader"), Job(id="load", component="dataset-loader"))
    assert ("workflows[0].jobs[1].id", "duplicate job id `load` (also jobs[0])") in messages(d)


def test_unknown_component_suggests_the_close_id():
    d = doc(Job(id="load", component="dataset-loadr"))
    assert messages(d) == [
        ("workflows[0].jobs[0].component", "no component `dataset-loadr` (did you mean `dataset-loader`?)")
    ]


def test_reading_a_job_that_is_not_a_dependency_says_what_to_add():
    d = doc(
        Job(id="load", component="dataset-loader"),
        Job(id="train", component="trainer", input={"dataset": "${jobs.load.output}"}),
    )
    assert messages(d) == [
        (
            "workflows[0].jobs[1].input.dataset",
            "${jobs.load.output}: job `train` reads the output of `load` but does not depend on it: "
            "add `load` to depends_on",
        )
    ]


def test_transitive_dependency_is_enough():
    d = doc(
        Job(id="load", component="dataset-loader"),
        Job(
            id="select",
            component="dataset-ops",
            method="select",
            input={"dataset": "${jobs.load.output}", "axis": "rows", "indices": [0]},
            depends_on=["load"],
        ),
        Job(
            id="train",
            component="trainer",
            input={"dataset": "${jobs.select.output}", "eval_dataset": "${jobs.load.output}"},
            depends_on=["select"],
        ),
    )
    assert messages(d) == []


def test_nested_input_path_and_unknown_job_in_binding():
    d = doc(
        Job(id="load", component="dataset-loader"),
        Job(
            id="concat",
            component="dataset-ops",
            method="concat",
            input={"datasets": ["${jobs.load.output}", "${jobs.lod.output}"]},
            depends_on=["load"],
        ),
    )
    assert messages(d) == [
        (
            "workflows[0].jobs[1].input.datasets[1]",
            "${jobs.lod.output}: no job `lod` in workflow `wf` (did you mean `load`?)",
        )
    ]


def test_datasets_method_must_be_an_operation_or_action():
    nested = ComponentDoc(
        id="nested-ops",
        type="datasets",
        fields={},
        actions={"keep-long": {"method": "filter", "condition": "len(text) > 3"}},
    )
    d = doc(
        Job(id="a", component="dataset-ops", method="shuffle"),
        Job(id="b", component="nested-ops", method="keep-long"),
        components=[loader(), ops(), trainer(), nested],
    )
    (problem,) = workflow_problems(d)
    assert problem.path == "workflows[0].jobs[0].method"
    assert "unknown method `shuffle`" in problem.message and "concat" in problem.message


def test_trainer_job_takes_no_method():
    d = doc(Job(id="train", component="trainer", method="train", input={"dataset": "x"}))
    assert messages(d)[0][0] == "workflows[0].jobs[0].method"


def test_unknown_job_input_key_is_an_error_with_suggestion():
    d = doc(Job(id="load", component="dataset-loader", input={"fracton": 0.5}))
    ((path, message),) = messages(d)
    assert path == "workflows[0].jobs[0].input.fracton"
    assert "did you mean `fraction`?" in message


def test_input_key_read_by_the_component_is_fine():
    d = doc(
        Job(id="f", component="filter-ops", input={"cond": "len(text) > 1", "dataset": "x"}),
        components=[
            ComponentDoc(id="filter-ops", type="datasets", fields={"method": "filter", "condition": "${input.cond}"})
        ],
    )
    assert messages(d) == []


def test_malformed_binding_in_component_and_output_outside_job_output():
    d = doc(
        Job(id="load", component="bad", input={"path": "${output}"}),
        components=[ComponentDoc(id="bad", type="datasets", fields={"path": "${inputs.x}"})],
    )
    found = messages(d)
    assert (
        "components[0].path",
        "${inputs.x}: unknown source 'inputs'; a binding starts with one of input, jobs, env, item, output, result",
    ) in found
    assert any(p == "workflows[0].jobs[0].input.path" and "only works in a job's output" in m for p, m in found)


def test_job_output_may_use_its_own_result_and_workflow_output_checks_job_ids():
    d = doc(
        Job(id="load", component="dataset-loader", output={"rows": "${output.num_rows}"}),
        output={"a": "${jobs.lood.output}"},
    )
    assert messages(d) == [
        ("workflows[0].output.a", "${jobs.lood.output}: no job `lood` in workflow `wf` (did you mean `load`?)")
    ]


def test_job_order_keeps_written_order_within_a_batch():
    wf = Workflow(
        id="w",
        jobs=[
            Job(id="z", component="c"),
            Job(id="a", component="c"),
            Job(id="m", component="c", depends_on=["z"]),
            Job(id="b", component="c", depends_on=["m", "a"]),
        ],
    )
    assert job_order(wf) == [["z", "a"], ["m"], ["b"]]


def test_input_for_another_datasets_operation_is_a_warning():
    d = doc(
        Job(id="load", component="dataset-loader"),
        Job(
            id="concat",
            component="dataset-ops",
            method="concat",
            depends_on=["load"],
            input={"datasets": ["${jobs.load.output}"], "template": "{text}"},
        ),
    )
    (problem,) = workflow_problems(d)
    assert (problem.path, problem.severity) == ("workflows[0].jobs[1].input.template", "warning")
    assert problem.message == "`template` has no effect on a `concat` job"
