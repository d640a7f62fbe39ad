"""The seed chapter's §9.2 data set snippets, run with ``compose run`` on local files.

The YAML is read from the chapter itself. Hub ids (tatsu-lab/alpaca, yahma/alpaca-cleaned)
are swapped for local JSON Lines files, since nothing here reaches the hub; every other
field stays as written. Blocks that hold only components get a one-job workflow; blocks
that hold only a workflow get the components the chapter defines for them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

import runner.launch
from runner.cli import main
from runner.dataset_prep import load_reference
from tests.compose.seed_blocks import block

HUB_TO_LOCAL = {"tatsu-lab/alpaca": "./data/alpaca.jsonl", "yahma/alpaca-cleaned": "./data/alpaca-cleaned.jsonl"}
# The chapter uses dataset-ops in workflows without defining it there: a bare datasets component.
BARE_OPS = {"id": "dataset-ops", "type": "datasets"}


def alpaca(n: int, tag: str) -> list[dict[str, str]]:
    return [
        {
            "instruction": f"{tag} task {i}",
            "input": "" if i % 2 else f"context {i}",
            "output": f"{tag} answer " + "z" * (i * 3),
        }
        for i in range(n)
    ]


ALPACA = alpaca(12, "a")
CLEANED = alpaca(5, "c")


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setattr(runner.launch, "SubprocessExecutor", runner.launch.InProcessExecutor)
    data = tmp_path / "data"
    (data / "training").mkdir(parents=True)
    for name, rows in (("alpaca.jsonl", ALPACA), ("alpaca-cleaned.jsonl", CLEANED)):
        (data / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def local(text: str) -> str:
    for hub_id, path in HUB_TO_LOCAL.items():
        text = text.replace(hub_id, path)
    return text


def compose_file(project: Path, components: list[dict[str, Any]], workflows: list[dict[str, Any]]) -> Path:
    path = project / "compose.yaml"
    path.write_text(
        yaml.safe_dump({"components": components, "workflows": workflows}, allow_unicode=True, sort_keys=False)
    )
    return path


def run(project: Path, path: Path, capsys, *args: str) -> tuple[dict[str, Any], str]:
    code = main(["run", str(path), *args, "--storage", str(project / "store")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out), captured.err


def rows(project: Path, ref: dict[str, Any]) -> list[dict[str, Any]]:
    return load_reference(ref, str(project / "store")).to_list()


def one_job(component_id: str) -> list[dict[str, Any]]:
    return [{"id": "load", "jobs": [{"id": "load", "component": component_id}]}]


def test_hub_basic_settings(project, capsys):
    components = yaml.safe_load(local(block("9.2.2", "기본").text))["components"]
    out, _ = run(project, compose_file(project, components, one_job("dataset-loader")), capsys)
    assert rows(project, out) == ALPACA  # fraction: 1.0 keeps every row, in order


def test_hub_advanced_settings(project, capsys):
    components = yaml.safe_load(local(block("9.2.2", "고급").text))["components"]
    path = compose_file(project, components, one_job("dataset-loader"))
    out, err = run(project, path, capsys, "-e", "HF_TOKEN=hf_seedtoken123")
    got = rows(project, out)
    # fraction 0.1 after a seeded shuffle: ceil(12 * 0.1) = 2 distinct rows of the file.
    assert len(got) == math.ceil(len(ALPACA) * 0.1) == 2
    assert all(r in ALPACA for r in got) and got[0] != got[1]
    assert (project / "cache" / "datasets").is_dir()  # cache_dir: ./cache/datasets was used
    assert "hf_seedtoken123" not in err + json.dumps(out)


def test_hub_workflow_takes_the_path_as_input(project, capsys):
    components = yaml.safe_load(local(block("9.2.2", "기본").text))["components"]
    workflows = yaml.safe_load(block("9.2.2", "워크플로우").text)["workflows"]
    path = compose_file(project, components, workflows)
    out, _ = run(project, path, capsys, "--input", "dataset=./data/alpaca-cleaned.jsonl")
    assert rows(project, out) == CLEANED


def test_local_json_file(project, capsys):
    (project / "data" / "train.json").write_text(json.dumps(ALPACA))
    components = yaml.safe_load(block("9.2.3", "JSON").text)["components"]
    out, _ = run(project, compose_file(project, components, one_job("local-dataset")), capsys)
    assert rows(project, out) == ALPACA and out["sft_format"] == "instruction"


def test_local_csv_files_are_concatenated(project, capsys):
    header = "instruction,input,output\n"
    train = [("t1", "x", "o1"), ("t2", "y", "o2")]
    validation = [("v1", "z", "o3")]
    (project / "data" / "train.csv").write_text(header + "".join(",".join(r) + "\n" for r in train))
    (project / "data" / "validation.csv").write_text(header + "".join(",".join(r) + "\n" for r in validation))
    components = yaml.safe_load(block("9.2.3", "CSV").text)["components"]
    out, _ = run(project, compose_file(project, components, one_job("local-dataset")), capsys)
    # A plain list of files is one train split, in the order listed.
    assert rows(project, out) == [
        dict(zip(("instruction", "input", "output"), r, strict=True)) for r in train + validation
    ]


def test_local_directory_of_json_files(project, capsys):
    (project / "data" / "training" / "part-2.json").write_text(json.dumps(CLEANED))
    (project / "data" / "training" / "part-1.json").write_text(json.dumps(ALPACA))
    components = yaml.safe_load(block("9.2.3", "디렉토리").text)["components"]
    out, _ = run(project, compose_file(project, components, one_job("local-dataset")), capsys)
    assert rows(project, out) == ALPACA + CLEANED


def _loader_and_ops() -> list[dict[str, Any]]:
    return yaml.safe_load(local(block("9.2.2", "기본").text))["components"] + [BARE_OPS]


def test_merge_two_datasets(project, capsys):
    workflows = yaml.safe_load(local(block("9.2.4", "병합").text))["workflows"]
    out, _ = run(project, compose_file(project, _loader_and_ops(), workflows), capsys)
    assert rows(project, out) == ALPACA + CLEANED


def test_select_columns(project, capsys):
    workflows = yaml.safe_load(local(block("9.2.4", "열 선택").text))["workflows"]
    out, _ = run(project, compose_file(project, _loader_and_ops(), workflows), capsys)
    assert rows(project, out) == [{k: r[k] for k in ("instruction", "input", "output")} for r in ALPACA]


def test_select_first_five_rows(project, capsys):
    workflows = yaml.safe_load(local(block("9.2.4", "행 선택").text))["workflows"]
    out, _ = run(project, compose_file(project, _loader_and_ops(), workflows), capsys)
    assert rows(project, out) == ALPACA[:5]


def _load_then(component_id: str, **job_input: str) -> list[dict[str, Any]]:
    return [
        {
            "id": "prepare",
            "jobs": [
                {"id": "load", "component": "dataset-loader"},
                {
                    "id": "op",
                    "component": component_id,
                    "input": {"dataset": "${jobs.load.output}", **job_input},
                    "depends_on": ["load"],
                },
            ],
        }
    ]


def test_filter_component(project, capsys):
    components = (
        yaml.safe_load(local(block("9.2.2", "기본").text))["components"]
        + yaml.safe_load(block("9.2.4", "필터링").text)["components"]
    )
    path = compose_file(project, components, _load_then("dataset-ops", condition="${input.condition}"))
    out, _ = run(project, path, capsys, "--input", 'condition=len(output) > 20 and input == ""')
    expected = [r for r in ALPACA if len(r["output"]) > 20 and r["input"] == ""]
    assert expected and rows(project, out) == expected


def test_map_component(project, capsys):
    components = (
        yaml.safe_load(local(block("9.2.2", "기본").text))["components"]
        + yaml.safe_load(block("9.2.4", "매핑").text)["components"]
    )
    path = compose_file(project, components, _load_then("dataset-ops", template="${input.template}"))
    out, _ = run(project, path, capsys, "--input", "template=### {instruction}\n{input} -> {output} {{done}}")
    assert rows(project, out) == [
        {**r, "text": f"### {r['instruction']}\n{r['input']} -> {r['output']} {{done}}"} for r in ALPACA
    ]
