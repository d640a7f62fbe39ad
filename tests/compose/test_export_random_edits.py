"""Random edits of the seed's snippets, drawn by Hypothesis: export over the original must
say exactly what the edited document says, and leave untouched comments in place.

A failure shrinks to the fewest, simplest edits that still break the export. The run is
bounded and derandomized by the ``ci`` profile in ``tests/conftest.py``.
"""

from __future__ import annotations

from functools import cache

from hypothesis import given
from hypothesis import strategies as st

from compose.exporter import export_yaml
from compose.loader import parse
from compose.schema.components import COMPONENT_TYPES
from tests.compose.seed_blocks import seed_blocks
from tests.compose.test_dialects import NESTED
from tests.compose.test_export import COMMENTED

VALUES = {
    "learning_rate": [1e-4, 2e-5, "3e-4"],
    "num_epochs": [1, 2.5],
    "lora_r": [4, 64],
    "lora_alpha": [8, 32],
    "lora_dropout": [0.0, 0.1],
    "lora_target_modules": [["q_proj"], ["a", "b", "c"], "all-linear"],
    "lora_bias": ["none", "all"],
    "quantization": ["nf4", "int8", "int4"],
    "bnb_4bit_compute_dtype": ["float16", "bfloat16"],
    "bnb_4bit_use_double_quant": [True, False],
    "peft_adapter": ["lora"],
    "split": ["train", "test"],
    "fraction": [0.5, 1.0],
    "path": ["org/name"],
    "data_files": ["a.json", ["a", "b"], {"train": "a", "test": ["b"]}],
    "text_column": ["text"],
    "optimizer": ["sgd", "adamw_torch"],
    "output_dir": ["./o"],
    "seed": [1, 7],
    "packing": [True],
    "dataset": ["${input.d}"],
    "datasets": [["${jobs.a.output}", "${jobs.b.output}"]],
    "condition": ["len(x) > 2"],
    "template": ["{a} {b}\nmore"],
    "method": ["map", "select"],
}
TEXTS = [b.text for b in seed_blocks()] + [NESTED, COMMENTED]


@cache
def _parsed(text: str):
    return parse(text).file


def sometimes(draw, percent: int) -> bool:
    """True about ``percent`` in 100 draws; shrinks to False (the edit left out)."""
    return draw(st.integers(0, 99)) >= 100 - percent


def edit_components(draw, doc):
    new = doc.model_copy(deep=True)
    for _ in range(draw(st.integers(1, 4))):
        component = draw(st.sampled_from(new.components))
        if sometimes(draw, 30) and component.fields:
            component.fields.pop(draw(st.sampled_from(list(component.fields))))
        else:
            model = COMPONENT_TYPES[component.type]
            name = draw(st.sampled_from([n for n in VALUES if n in model.model_fields]))
            component.fields[name] = draw(st.sampled_from(VALUES[name]))
    if sometimes(draw, 20) and len(new.components) > 1:
        new.components.pop(draw(st.integers(0, len(new.components) - 1)))
    if sometimes(draw, 20):
        copy = new.components[0].model_copy(update={"id": "extra"}, deep=True)
        new.components.insert(draw(st.integers(0, len(new.components))), copy)
    return new


def edit_jobs(draw, doc):
    new = doc.model_copy(deep=True)
    jobs = new.workflows[0].jobs
    for n in range(draw(st.integers(1, 3))):
        job = draw(st.sampled_from(jobs))
        op = draw(st.sampled_from(["input", "input-extra", "depends", "method", "remove", "insert"]))
        if op == "input":
            job.input = {} if job.input else {"x": "1", "y": [1, 2]}
        elif op == "input-extra":
            job.input = dict(job.input, extra=draw(st.sampled_from(["a", {"b": 1}, [1]])))
        elif op == "depends":
            job.depends_on = [] if job.depends_on else [jobs[0].id]
        elif op == "method":
            job.method = draw(st.sampled_from([None, "select", "map"]))
        elif op == "remove" and len(jobs) > 1:
            jobs.remove(job)
        elif op == "insert":
            jobs.insert(draw(st.integers(0, len(jobs))), job.model_copy(update={"id": f"new-{n}"}))
    return new


@st.composite
def edited_documents(draw):
    """(original text, its document, an edited copy of the document)."""
    text = draw(st.sampled_from(TEXTS))
    doc = _parsed(text)
    if doc.workflows and (not doc.components or draw(st.booleans())):
        return text, doc, edit_jobs(draw, doc)
    return text, doc, edit_components(draw, doc)


def removed_items(old, new) -> bool:
    def ids(doc):
        return {c.id for c in doc.components} | {(w.id, j.id) for w in doc.workflows for j in w.jobs}

    return not ids(old) <= ids(new)


@given(edited_documents())
def test_random_edits_export_exactly_what_the_document_says(case) -> None:
    text, doc, new = case
    out = export_yaml(new, original=text)
    back = parse(out).file
    assert back is not None, out
    assert back.components == new.components and back.workflows == new.workflows, (text, out)
    # Comments on lines whose values did not change survive (unless their item went).
    if removed_items(doc, new):
        return
    for line in text.splitlines():
        if "#" in line and line.strip().startswith("#"):
            assert line in out
