"""Workflow inputs derived from ${input.*} and typed values from forms and the CLI."""

import json

import pytest

from compose.errors import ComposeError
from compose.inputs import InputError, coerce_inputs, field_type, workflow_inputs
from compose.schema.components import DatasetsComponent
from compose.schema.workflow import ComponentDoc, ComposeFile, Job, Workflow


def seed_custom():
    """The seed's 9.8.3 example, as the loader normalizes it."""
    return ComposeFile(
        components=[
            ComponentDoc(
                id="local-data",
                type="datasets",
                fields={"provider": "local", "loader": "json", "data_files": "./data/custom_train.json"},
            ),
            ComponentDoc(id="data-processor", type="datasets", fields={"method": "map"}),
            ComponentDoc(
                id="custom-trainer",
                type="model-trainer",
                fields={
                    "task": "sft",
                    "dataset": "${input.dataset}",
                    "prompt_column": "user_input",
                    "response_column": "assistant_response",
                    "learning_rate": "5e-5",
                },
            ),
        ],
        workflows=[
            Workflow(
                id="train-custom",
                jobs=[
                    Job(id="load", component="local-data"),
                    Job(
                        id="process",
                        component="data-processor",
                        depends_on=["load"],
                        input={"dataset": "${jobs.load.output}", "template": "${input.template}"},
                    ),
                    Job(
                        id="train",
                        component="custom-trainer",
                        depends_on=["process"],
                        input={"dataset": "${jobs.process.output}"},
                    ),
                ],
            )
        ],
    )


def by_name(specs):
    return {spec.name: spec for spec in specs}


def test_seed_custom_workflow_takes_only_the_template():
    specs = workflow_inputs(seed_custom())
    assert [s.to_dict() for s in specs] == [
        {
            "name": "template",
            "type": "text",
            "default": None,
            "required": True,
            "hint": None,
            "used_by": ["workflows[0].jobs[1].input.template"],
            "help": DatasetsComponent.model_fields["template"].description,
        }
    ]
    json.dumps([s.to_dict() for s in specs])  # serializable for the web form


def test_component_input_filled_by_the_job_is_not_a_workflow_input():
    # `dataset` is read by custom-trainer as ${input.dataset} but the train job fills it.
    assert "dataset" not in by_name(workflow_inputs(seed_custom()))


def test_component_input_not_filled_by_the_job_is_a_workflow_input():
    doc = ComposeFile(
        components=[
            ComponentDoc(
                id="dataset-ops",
                type="datasets",
                fields={"method": "filter", "dataset": "${input.dataset}", "condition": "${input.condition}"},
            )
        ],
        workflows=[Workflow(id="w", jobs=[Job(id="f", component="dataset-ops")])],
    )
    specs = by_name(workflow_inputs(doc))
    assert specs["dataset"].type == "json" and specs["dataset"].required
    assert specs["condition"].type == "text"
    assert specs["condition"].used_by == ["components[0].condition"]
    # The run form's help for an input is the schema's description of the field it fills.
    assert specs["condition"].help == DatasetsComponent.model_fields["condition"].description != ""


def test_default_types_and_hints_come_from_the_field():
    doc = ComposeFile(
        components=[
            ComponentDoc(
                id="t",
                type="model-trainer",
                fields={
                    "task": "sft",
                    "dataset": "${input.dataset}",
                    "learning_rate": "${input.lr | 5e-5}",
                    "optimizer": "${input.optim | adamw_torch}",
                    "num_epochs": "${input.epochs as slider/1,10,1 | 3}",
                    "packing": "${input.packing | false}",
                    "output_dir": "./out/${input.name | run}",
                    "per_device_train_batch_size": "${input.bs as select/8,16 | 8}",
                },
            )
        ],
        workflows=[Workflow(id="w", jobs=[Job(id="train", component="t")])],
    )
    specs = by_name(workflow_inputs(doc))
    assert (specs["lr"].type, specs["lr"].default, specs["lr"].required) == ("number", 5e-5, False)
    assert specs["optim"].hint.options[0] == "adamw_torch" and "sgd" in specs["optim"].hint.options
    assert (specs["bs"].type, specs["bs"].default, specs["bs"].hint.options) == ("integer", 8, ("8", "16"))
    assert specs["epochs"].type == "integer" and specs["epochs"].default == 3
    assert specs["epochs"].to_dict()["hint"] == {"kind": "slider", "min": 1, "max": 10, "step": 1}
    assert (specs["packing"].type, specs["packing"].default) == ("boolean", False)
    assert (specs["name"].type, specs["name"].default) == ("text", "run")  # embedded: text


def test_job_input_overriding_a_field_hides_the_component_binding():
    doc = ComposeFile(
        components=[
            ComponentDoc(id="loader", type="datasets", fields={"provider": "huggingface", "path": "${input.dataset}"})
        ],
        workflows=[
            Workflow(
                id="w",
                jobs=[
                    Job(
                        id="a",
                        component="loader",
                        input={"path": "${input.dataset | tatsu-lab/alpaca}", "fraction": "${input.fraction | 0.1}"},
                    )
                ],
            )
        ],
    )
    specs = by_name(workflow_inputs(doc))
    assert specs["dataset"].required is False and specs["dataset"].default == "tatsu-lab/alpaca"
    assert specs["dataset"].used_by == ["workflows[0].jobs[0].input.path"]
    assert (specs["fraction"].type, specs["fraction"].default) == ("number", 0.1)


def test_nested_defaults_and_several_uses_merge():
    doc = ComposeFile(
        components=[ComponentDoc(id="loader", type="datasets", fields={"provider": "huggingface"})],
        workflows=[
            Workflow(
                id="w",
                jobs=[
                    Job(id="a", component="loader", input={"seed": "${input.seed | ${input.base_seed | 7}}"}),
                    Job(id="b", component="loader", input={"seed": "${input.seed}"}),
                ],
            )
        ],
    )
    specs = by_name(workflow_inputs(doc))
    assert specs["seed"].required is True  # job b has no default
    assert specs["seed"].used_by == ["workflows[0].jobs[0].input.seed", "workflows[0].jobs[1].input.seed"]
    assert (specs["base_seed"].type, specs["base_seed"].default, specs["base_seed"].required) == ("integer", 7, False)


def test_unknown_workflow_is_an_error():
    with pytest.raises(ComposeError, match="no workflow `train-custm` \\(did you mean `train-custom`\\?\\)"):
        workflow_inputs(seed_custom(), "train-custm")


def test_coerce_turns_strings_into_typed_values():
    doc = ComposeFile(
        components=[
            ComponentDoc(
                id="t",
                type="model-trainer",
                fields={
                    "task": "sft",
                    "dataset": "${input.dataset}",
                    "learning_rate": "${input.lr | 5e-5}",
                    "num_epochs": "${input.epochs as slider/1,10,1 | 3}",
                    "packing": "${input.packing | false}",
                    "optimizer": "${input.optim | adamw_torch}",
                },
            )
        ],
        workflows=[Workflow(id="w", jobs=[Job(id="train", component="t")])],
    )
    specs = workflow_inputs(doc)
    values = coerce_inputs(
        specs,
        {
            "dataset": '{"type": "dataset", "path": "datasets/x"}',
            "lr": "1e-4",
            "epochs": "4",
            "packing": "on",
            "optim": "sgd",
        },
    )
    assert values == {
        "dataset": {"type": "dataset", "path": "datasets/x"},
        "lr": 1e-4,
        "epochs": 4,
        "packing": True,
        "optim": "sgd",
    }
    assert coerce_inputs(specs, {"dataset": "x", "optim": "adafactor"})["optim"] == "adafactor"
    lr_choice = workflow_inputs(
        ComposeFile(
            components=[
                ComponentDoc(
                    id="t",
                    type="model-trainer",
                    fields={"task": "sft", "learning_rate": "${input.lr as select/1e-4,5e-5}"},
                )
            ],
            workflows=[Workflow(id="w", jobs=[Job(id="train", component="t")])],
        )
    )
    assert coerce_inputs(lr_choice, {"lr": "0.0001"}) == {"lr": 1e-4}
    # left out or blank: the binding's default applies later
    assert coerce_inputs(specs, {"dataset": "x", "lr": ""}) == {"dataset": "x"}


def test_coerce_reports_every_problem_at_once():
    specs = workflow_inputs(
        ComposeFile(
            components=[
                ComponentDoc(
                    id="t",
                    type="model-trainer",
                    fields={
                        "task": "sft",
                        "dataset": "${input.dataset}",
                        "learning_rate": "${input.lr | 5e-5}",
                        "num_epochs": "${input.epochs as slider/1,10,1 | 3}",
                        "optimizer": "${input.optim | sgd}",
                    },
                )
            ],
            workflows=[Workflow(id="w", jobs=[Job(id="train", component="t")])],
        )
    )
    with pytest.raises(InputError) as caught:
        coerce_inputs(specs, {"lr": "fast", "epochs": "40", "optim": "sgdd", "datset": "x"})
    found = {p.path: p.message for p in caught.value.problems}
    assert "did you mean `dataset`?" in found["inputs.datset"]
    assert "input `dataset` is required" in found["inputs.dataset"]
    assert found["inputs.lr"] == "input `lr`: 'fast' is not a number"
    assert "outside 1..10" in found["inputs.epochs"]
    assert "did you mean `sgd`?" in found["inputs.optim"]
    assert str(caught.value).startswith("5 problems with the inputs")


def test_field_types():
    assert field_type("model-trainer", "learning_rate") == "number"
    assert field_type("model-trainer", "eval_steps") == "integer"
    assert field_type("model-trainer", "packing") == "boolean"
    assert field_type("model-trainer", "optimizer") == "text"
    assert field_type("datasets", "data_files") == "json"
    assert field_type("datasets", "indices") == "json"
    assert field_type("datasets", "nope") is None


def test_fields_of_another_datasets_operation_are_not_inputs():
    # The seed's filter component shared by a concat job: no condition is asked for.
    ops = ComponentDoc(
        id="dataset-ops", type="datasets", fields={"dataset": "${input.dataset}", "condition": "${input.condition}"}
    )
    doc = ComposeFile(
        components=[ops],
        workflows=[
            Workflow(
                id="w",
                jobs=[
                    Job(
                        id="c",
                        component="dataset-ops",
                        method="concat",
                        input={"datasets": ["${input.a}", "${input.b}"]},
                    ),
                    Job(id="f", component="dataset-ops", method="filter", input={"dataset": "${input.a}"}),
                ],
            )
        ],
    )
    assert [s.name for s in workflow_inputs(doc)] == ["a", "b", "condition"]
    assert by_name(workflow_inputs(doc))["condition"].used_by == ["components[0].condition"]


def test_an_input_is_checked_against_the_range_and_choices_of_the_field_it_fills():
    from compose.inputs import input_problems
    from compose.loader import load_compose

    doc = load_compose(
        "components:\n"
        "  - id: t\n"
        "    type: model-trainer\n"
        "    task: sft\n"
        "    model: ./m\n"
        "    max_seq_length: ${input.seq as integer | 128}\n"
        "    learning_rate: ${input.lr}\n"
        "workflows:\n"
        "  - id: w\n"
        "    jobs:\n"
        "      - {id: a, component: t, input: {optimizer: '${input.opt}'}}\n"
    )
    specs = workflow_inputs(doc, "w")
    problems = {p.path: p.message for p in input_problems(specs, {"seq": "0", "lr": "-1", "opt": "adamw"})}
    assert problems == {
        "inputs.seq": "input `seq` fills max_seq_length: should be greater than or equal to 1 (got 0)",
        "inputs.lr": "input `lr` fills learning_rate: should be greater than 0 (got -1)",
        "inputs.opt": problems["inputs.opt"],
    }
    assert "'adamw' is not one of adamw_torch" in problems["inputs.opt"]  # the field's choices
    assert input_problems(specs, {"seq": "64", "lr": "2e-4", "opt": "adamw_torch"}) == []
