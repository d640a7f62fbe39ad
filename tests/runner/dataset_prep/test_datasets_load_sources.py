"""Which files a local load reads when more than one field names them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import runner.launch
from runner.cli import main

MERGE = """\
components:
  - id: dataset-loader
    type: datasets
    provider: local
    loader: json
    data_files: ./data/a.jsonl
  - id: dataset-ops
    type: datasets
workflows:
  - id: merge-datasets
    jobs:
      - id: load-first
        component: dataset-loader
        input:
          path: ./data/a.jsonl
          split: train
      - id: load-second
        component: dataset-loader
        input:
          path: ./data/b.jsonl
          split: train
      - id: concat
        component: dataset-ops
        method: concat
        input:
          datasets:
            - ${jobs.load-first.output}
            - ${jobs.load-second.output}
        depends_on: [ load-first, load-second ]
    output:
      first: ${jobs.load-first.output}
      second: ${jobs.load-second.output}
      merged: ${jobs.concat.output}
"""


def test_the_seeds_merge_of_two_loads_reads_each_jobs_path(tmp_path: Path, monkeypatch, capsys) -> None:
    # §9.2.4 through a local loader whose component also names data_files.
    monkeypatch.setattr(runner.launch, "SubprocessExecutor", runner.launch.InProcessExecutor)
    (tmp_path / "data").mkdir()
    a = [{"text": f"a{i}"} for i in range(3)]
    b = [{"text": f"b{i}"} for i in range(2)]
    (tmp_path / "data" / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in a))
    (tmp_path / "data" / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in b))
    (tmp_path / "merge.yaml").write_text(MERGE)
    monkeypatch.setenv("COMPOSE_STORAGE_DIR", str(tmp_path / "storage"))

    code = main(["run", str(tmp_path / "merge.yaml")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    output = json.loads(captured.out)
    assert output["first"]["fingerprint"] != output["second"]["fingerprint"]
    assert (output["first"]["num_rows"], output["second"]["num_rows"], output["merged"]["num_rows"]) == (3, 2, 5)
    from runner.dataset_prep import load_reference

    assert load_reference(output["merged"], str(tmp_path / "storage")).to_list() == a + b


def test_path_with_data_files_is_the_folder_they_are_named_in(jobs):
    jobs.write_jsonl("data/train.jsonl", [{"text": "in data"}])
    jobs.write_jsonl("train.jsonl", [{"text": "at the top"}])
    ref = jobs.run("load", provider="local", path="./data", data_files="train.jsonl")
    assert jobs.rows(ref) == [{"text": "in data"}]


def test_a_file_path_beside_data_files_fails_naming_both(jobs):
    jobs.write_jsonl("a.jsonl", [{"text": "a"}])
    jobs.write_jsonl("b.jsonl", [{"text": "b"}])
    message = jobs.fail("load", provider="local", path="./a.jsonl", data_files="b.jsonl")
    assert message.startswith("path './a.jsonl' is not a folder, and data_files names the files to read")


def test_path_beside_data_dir_fails(jobs):
    jobs.write_jsonl("one/a.jsonl", [{"text": "a"}])
    jobs.write_jsonl("two/b.jsonl", [{"text": "b"}])
    # A path that only the run can tell is local (no provider, no loader, no ./): refused there.
    message = jobs.fail("load", path="one", data_dir="two")
    assert message == "a local load reads one folder: give path ('one') or data_dir ('two'), not both"


def test_the_model_refuses_a_known_local_path_beside_data_dir():
    from compose.schema.components import DatasetsComponent

    with pytest.raises(ValueError, match="give path or data_dir, not both"):
        DatasetsComponent(id="d", provider="local", path="./one", data_dir="./two")


def test_hub_only_fields_on_a_local_load_log_a_warning(jobs):
    jobs.write_jsonl("a.jsonl", [{"text": "a"}])
    ref = jobs.run(
        "load", provider="local", data_files="a.jsonl", revision="main", token="tok-abc", trust_remote_code=True
    )
    assert jobs.rows(ref) == [{"text": "a"}]
    warnings = [e["message"] for e in jobs.of_type("log") if e.get("level") == "warning"]
    for name in ("revision", "token", "trust_remote_code"):
        assert f"{name} has no effect on a load of local files (it is passed to the Hugging Face Hub only)" in warnings
