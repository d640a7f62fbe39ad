"""Materialization: content fingerprints, reuse, atomic folders, summaries, references."""

from __future__ import annotations

import json
import os

import pytest

from compose.jobspec import JobFailed
from runner.dataset_prep import load_reference
from runner.dataset_prep.materialize import SUMMARY_FILE, dataset_dir, save


def test_rerun_reuses_the_materialized_folder(jobs, alpaca_rows):
    jobs.write_jsonl("d.jsonl", alpaca_rows(6))
    first = jobs.run("load", loader="json", data_files="d.jsonl")
    folder = dataset_dir(jobs.storage, first["fingerprint"])
    stamp = (folder / "state.json").stat().st_mtime_ns
    jobs.events.clear()
    second = jobs.run("load", loader="json", data_files="d.jsonl")
    assert second == {**first, "reused": True}
    assert f"reusing materialized data set {first['fingerprint']} (6 rows)" in [
        e["message"] for e in jobs.of_type("log")
    ]
    assert (folder / "state.json").stat().st_mtime_ns == stamp  # not written again
    [artifact] = jobs.of_type("artifact")
    assert artifact["kind"] == "dataset" and artifact["path"] == str(folder)
    assert artifact["size_bytes"] == sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_fingerprint_follows_the_bytes_not_size_or_mtime(jobs):
    path = jobs.write_jsonl("d.jsonl", [{"text": "abc"}])
    before = os.stat(path)
    first = jobs.run("load", loader="json", data_files="d.jsonl")
    # Same size, same modification time, different bytes.
    jobs.write_jsonl("d.jsonl", [{"text": "xyz"}])
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    second = jobs.run("load", loader="json", data_files="d.jsonl")
    assert second["fingerprint"] != first["fingerprint"]
    assert jobs.rows(second) == [{"text": "xyz"}]
    assert jobs.rows(first) == [{"text": "abc"}]  # the earlier data set is intact


def test_fingerprint_depends_on_options_that_change_rows(jobs):
    jobs.write_jsonl("d.jsonl", [{"n": i} for i in range(10)])
    plain = jobs.run("load", loader="json", data_files="d.jsonl")["fingerprint"]
    half = jobs.run("load", loader="json", data_files="d.jsonl", fraction=0.5)["fingerprint"]
    shuffled = jobs.run("load", loader="json", data_files="d.jsonl", shuffle=True)["fingerprint"]
    # The seed matters only when shuffling.
    reseeded = jobs.run("load", loader="json", data_files="d.jsonl", seed=7)["fingerprint"]
    assert len({plain, half, shuffled}) == 3
    assert reseeded == plain


def test_a_moved_workspace_reuses_by_content(jobs, tmp_path):
    jobs.write_jsonl("d.jsonl", [{"text": "a"}])
    first = jobs.run("load", loader="json", data_files="d.jsonl")
    moved = tmp_path / "elsewhere"
    jobs.base.rename(moved)
    jobs.base = moved
    assert jobs.run("load", loader="json", data_files="d.jsonl")["reused"] is True
    assert first["fingerprint"]


def test_no_temporary_or_scratch_folders_are_left(jobs, alpaca_rows):
    jobs.write_jsonl("d.jsonl", alpaca_rows(20))
    ref = jobs.run("load", loader="json", data_files="d.jsonl")
    jobs.run("filter", dataset=ref, condition="len(output) > 10")
    jobs.run("map", dataset=ref, template="{instruction}")
    names = os.listdir(jobs.storage / "datasets")
    assert names and all(not n.startswith(".") for n in names)
    # Operations never write cache files into their input's folder.
    assert sorted(os.listdir(dataset_dir(jobs.storage, ref["fingerprint"]))) == sorted(
        ["data-00000-of-00001.arrow", "dataset_info.json", "state.json", SUMMARY_FILE]
    )


def test_a_folder_without_its_summary_is_not_reused(jobs):
    # A crash between save_to_disk and the summary leaves no folder under the final name;
    # a foreign folder without the summary file is rebuilt, not trusted.
    jobs.write_jsonl("d.jsonl", [{"text": "a"}])
    ref = jobs.run("load", loader="json", data_files="d.jsonl")
    folder = dataset_dir(jobs.storage, ref["fingerprint"])
    (folder / SUMMARY_FILE).unlink()
    (folder / "data-00000-of-00001.arrow").write_bytes(b"damaged")
    again = jobs.run("load", loader="json", data_files="d.jsonl")
    assert again == ref and again["reused"] is False
    assert jobs.rows(again) == [{"text": "a"}]


def test_save_failure_leaves_nothing_under_the_fingerprint(tmp_path):
    class Broken:
        def save_to_disk(self, path):
            os.makedirs(path)
            with open(os.path.join(path, "data-00000-of-00001.arrow"), "wb") as half:
                half.write(b"half")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save(Broken(), tmp_path, "f" * 32)
    assert os.listdir(tmp_path / "datasets") == []


def test_preview_truncates_long_strings(jobs):
    long = "y" * 1000
    jobs.write_jsonl("d.jsonl", [{"text": long, "n": i} for i in range(8)])
    ref = jobs.run("load", loader="json", data_files="d.jsonl")
    assert len(ref["preview"]) == 5
    assert ref["preview"][0] == {"text": "y" * 200 + "…", "n": 0}
    saved = json.loads((dataset_dir(jobs.storage, ref["fingerprint"]) / SUMMARY_FILE).read_text())
    assert saved["num_rows"] == 8 and saved["fingerprint"] == ref["fingerprint"]


def test_load_reference_of_missing_files_says_so(jobs):
    jobs.write_jsonl("d.jsonl", [{"text": "a"}])
    ref = jobs.run("load", loader="json", data_files="d.jsonl")
    assert load_reference(ref, str(jobs.storage)).to_list() == [{"text": "a"}]
    gone = {**ref, "fingerprint": "0" * 32, "path": "datasets/" + "0" * 32}
    with pytest.raises(JobFailed, match="is missing: no materialized files"):
        load_reference(gone, str(jobs.storage))
    message = jobs.fail("select", dataset=gone, axis="rows", indices=[0])
    assert "0" * 32 in message and "Run the job that produced it again" in message
    with pytest.raises(JobFailed, match="expected a data set"):
        load_reference({"path": "x"}, str(jobs.storage))


def test_changed_bytes_are_reread_with_a_user_cache_dir(jobs):
    # The library's own cache would keep the old rows (same size, same mtime).
    path = jobs.write_jsonl("d.jsonl", [{"text": "abc"}])
    before = os.stat(path)
    first = jobs.run("load", loader="json", data_files="d.jsonl", cache_dir="./cache")
    jobs.write_jsonl("d.jsonl", [{"text": "xyz"}])
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    second = jobs.run("load", loader="json", data_files="d.jsonl", cache_dir="./cache")
    assert (jobs.base / "cache").is_dir()
    assert jobs.rows(first) == [{"text": "abc"}] and jobs.rows(second) == [{"text": "xyz"}]


def test_a_filter_that_keeps_no_rows_feeds_the_next_job(jobs):
    jobs.write_jsonl("d.jsonl", [{"a": "x", "n": 1}, {"a": "y", "n": 2}])
    loaded = jobs.run("load", loader="json", data_files="d.jsonl")
    empty = jobs.run("filter", dataset=loaded, condition='a == "z"')
    assert empty["num_rows"] == 0
    back = load_reference(empty, str(jobs.storage))
    assert len(back) == 0 and back.column_names == ["a", "n"]
    assert str(back.features["n"].dtype) == "int64"
    mapped = jobs.run("map", dataset=empty, template="{a}!")
    assert mapped["num_rows"] == 0 and "text" in mapped["columns"]
