"""Many random edits of the seed's snippets: export over the original must say exactly
what the edited document says, and leave untouched comments in place."""
from __future__ import annotations

import random

import pytest

from compose.exporter import export_yaml
from compose.loader import parse
from compose.schema.components import COMPONENT_TYPES
from tests.compose.seed_blocks import seed_blocks
from tests.compose.test_dialects import NESTED
from tests.compose.test_export import COMMENTED

VALUES = {
    "learning_rate": [1e-4, 2e-5, "3e-4"], "num_epochs": [1, 2.5], "lora_r": [4, 64], "lora_alpha": [8, 32],
    "lora_dropout": [0.0, 0.1], "lora_target_modules": [["q_proj"], ["a", "b", "c"], "all-linear"],
    "lora_bias": ["none", "all"], "quantization": ["nf4", "int8", "int4"],
    "bnb_4bit_compute_dtype": ["float16", "bfloat16"], "bnb_4bit_use_double_quant": [True, False],
    "peft_adapter": ["lora"], "split": ["train", "test"], "fraction": [0.5, 1.0], "path": ["org/name"],
    "data_files": ["a.json", ["a", "b"], {"train": "a", "test": ["b"]}], "text_column": ["text"],
    "optimizer": ["sgd", "adamw_torch"], "output_dir": ["./o"], "seed": [1, 7], "packing": [True],
    "dataset": ["${input.d}"], "datasets": [["${jobs.a.output}", "${jobs.b.output}"]],
    "condition": ["len(x) > 2"], "template": ["{a} {b}\nmore"], "method": ["map", "select"],
}
TEXTS = [b.text for b in seed_blocks()] + [NESTED, COMMENTED]


def edit_components(rng: random.Random, doc):
    new = doc.model_copy(deep=True)
    for _ in range(rng.randint(1, 4)):
        component = rng.choice(new.components)
        if rng.random() < 0.3 and component.fields:
            component.fields.pop(rng.choice(list(component.fields)))
        else:
            model = COMPONENT_TYPES[component.type]
            name = rng.choice([n for n in VALUES if n in model.model_fields])
            component.fields[name] = rng.choice(VALUES[name])
    if rng.random() < 0.2 and len(new.components) > 1:
        new.components.pop(rng.randrange(len(new.components)))
    if rng.random() < 0.2:
        copy = new.components[0].model_copy(update={"id": "extra"}, deep=True)
        new.components.insert(rng.randrange(len(new.components) + 1), copy)
    return new


def edit_jobs(rng: random.Random, doc, trial: int):
    new = doc.model_copy(deep=True)
    jobs = new.workflows[0].jobs
    for _ in range(rng.randint(1, 3)):
        job = rng.choice(jobs)
        op = rng.randrange(6)
        if op == 0:
            job.input = {} if job.input else {"x": "1", "y": [1, 2]}
        elif op == 1:
            job.input = dict(job.input, extra=rng.choice(["a", {"b": 1}, [1]]))
        elif op == 2:
            job.depends_on = [] if job.depends_on else [jobs[0].id]
        elif op == 3:
            job.method = rng.choice([None, "select", "map"])
        elif op == 4 and len(jobs) > 1:
            jobs.remove(job)
        elif op == 5:
            jobs.insert(rng.randrange(len(jobs) + 1), job.model_copy(update={"id": f"new-{trial}"}))
    return new


def removed_items(old, new) -> bool:
    def ids(doc):
        return {c.id for c in doc.components} | {(w.id, j.id) for w in doc.workflows for j in w.jobs}
    return not ids(old) <= ids(new)


@pytest.mark.parametrize("seed", range(4))
def test_random_edits_export_exactly_what_the_document_says(seed: int) -> None:
    rng = random.Random(seed)
    for trial in range(60):
        text = rng.choice(TEXTS)
        doc = parse(text).file
        if doc.workflows and (rng.random() < 0.5 or not doc.components):
            new = edit_jobs(rng, doc, trial)
        else:
            new = edit_components(rng, doc)
        out = export_yaml(new, original=text)
        back = parse(out).file
        assert back is not None, out
        assert back.components == new.components and back.workflows == new.workflows, (text, out)
        # Comments on lines whose values did not change survive (unless their item went).
        if removed_items(doc, new):
            continue
        for line in text.splitlines():
            if "#" in line and line.strip().startswith("#"):
                assert line in out
