"""Every YAML snippet of the user's chapter on training loads, as the chapter means it.

Blocks are read from the chapter itself (``seed_blocks``). Component snippets load on
their own; workflow snippets load beside the components they name, taken from other
blocks of the chapter; the §9.8 examples load as whole files.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from compose.exporter import export_yaml
from compose.loader import load_compose, parse
from compose.schema.components import DatasetsComponent
from tests.compose.seed_blocks import SeedBlock, block, seed_blocks

BLOCKS = seed_blocks()
COMPONENT_BLOCKS = [b for b in BLOCKS if b.has("components") and not b.has("workflows")]
WORKFLOW_BLOCKS = [b for b in BLOCKS if b.has("workflows") and not b.has("components")]
WHOLE_FILES = [b for b in BLOCKS if b.has("components") and b.has("workflows")]


def paired_components() -> list[dict]:
    """The components the chapter's workflow snippets name, built from its own blocks.

    ``dataset-loader`` is §9.2.2's basic hub loader. ``dataset-ops`` is the datasets
    component of §9.2.4 with its fixed ``method`` taken away, since each of the
    chapter's jobs picks the operation with ``method:``.
    """
    loader = block("9.2.2", "기본 설정").data["components"][0]
    ops = copy.deepcopy(block("9.2.4", "데이터 필터링").data["components"][0])
    ops.pop("method")
    return [loader, ops]


def test_the_chapter_is_found_and_every_block_is_classified() -> None:
    assert len(BLOCKS) >= 30
    assert len(COMPONENT_BLOCKS) + len(WORKFLOW_BLOCKS) + len(WHOLE_FILES) == len(BLOCKS)
    assert [b.section for b in WHOLE_FILES] == ["9.8.1", "9.8.3"]


@pytest.mark.parametrize("seed", COMPONENT_BLOCKS, ids=lambda b: b.name)
def test_component_snippet_loads_without_errors(seed: SeedBlock) -> None:
    result = parse(seed.text, source=seed.name)
    assert result.errors == [], "\n".join(map(str, result.errors))
    assert [c.id for c in result.file.components] == [c["id"] for c in seed.data["components"]]


@pytest.mark.parametrize("seed", WORKFLOW_BLOCKS, ids=lambda b: b.name)
def test_workflow_snippet_loads_beside_the_components_it_names(seed: SeedBlock) -> None:
    alone = parse(seed.text)
    assert any("no component" in p.message for p in alone.errors), "the pairing below is needed"
    text = yaml.safe_dump({"components": paired_components()}, sort_keys=False, allow_unicode=True) + seed.text
    result = parse(text, source=seed.name)
    assert result.errors == [], "\n".join(map(str, result.errors))
    workflow = result.file.workflows[0]
    assert workflow.id == seed.data["workflows"][0]["id"]
    assert [j.id for j in workflow.jobs] == [j["id"] for j in seed.data["workflows"][0]["jobs"]]


@pytest.mark.parametrize("seed", WHOLE_FILES, ids=lambda b: b.name)
def test_practical_example_loads_as_a_whole_file(seed: SeedBlock) -> None:
    doc = load_compose(seed.text, source=seed.name)
    assert doc.workflows and doc.components


def test_numbers_written_like_5e_5_are_accepted() -> None:
    doc = load_compose(block("9.1.2").text)
    assert doc.components[0].fields["learning_rate"] == "5e-5"  # kept as written


def test_memory_snippet_with_fp16_and_bf16_loads_with_a_warning() -> None:
    # §9.3.6 lists fp16 and bf16 as alternatives ("또는") in one block.
    result = parse(block("9.3.6").text)
    assert result.errors == []
    assert [p.path for p in result.warnings] == ["components[0].bf16"]


def test_qlora_snippet_keeps_its_quantization_settings() -> None:
    fields = load_compose(block("9.5.5").text).components[0].fields
    assert (fields["quantization"], fields["bnb_4bit_compute_dtype"], fields["bnb_4bit_use_double_quant"]) == (
        "nf4",
        "bfloat16",
        True,
    )


def test_hub_token_stays_a_binding() -> None:
    seed = block("9.2.2", "고급 설정")
    fields = load_compose(seed.text).components[0].fields
    assert fields["token"] == "${env.HF_TOKEN}"
    assert "${env.HF_TOKEN}" in export_yaml(load_compose(seed.text))


def test_literal_dataset_fields_satisfy_the_canonical_model() -> None:
    for seed in (block("9.2.3", "JSON"), block("9.2.3", "CSV"), block("9.2.3", "디렉토리"), block("9.2.2", "기본")):
        component = load_compose(seed.text).components[0]
        DatasetsComponent(id=component.id, **component.fields)


@pytest.mark.parametrize("seed", BLOCKS, ids=lambda b: b.name)
def test_every_snippet_round_trips_in_both_dialects(seed: SeedBlock) -> None:
    doc = parse(seed.text).file
    assert export_yaml(doc, original=seed.text) == seed.text
    for dialect in ("seed", "nested"):
        assert parse(export_yaml(doc, dialect)).file == doc
