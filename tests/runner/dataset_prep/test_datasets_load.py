"""Loading local files: every loader, data_files shapes, data_dir, split choice, fraction, shuffle."""

from __future__ import annotations

import math

import pytest


def test_json_file_rows_and_summary(jobs, alpaca_rows):
    rows = alpaca_rows(7)
    jobs.write_json("data/train.json", rows)
    ref = jobs.run("load", provider="local", loader="json", data_files="./data/train.json")
    assert jobs.rows(ref) == rows
    assert ref["num_rows"] == 7
    assert ref["columns"] == {"instruction": "string", "input": "string", "output": "string"}
    assert ref["sft_format"] == "instruction"
    assert ref["preview"] == rows[:5]
    assert ref["path"] == f"datasets/{ref['fingerprint']}"
    assert ref["reused"] is False


def test_jsonl_loader_and_loader_inferred_from_extension(jobs, alpaca_rows):
    rows = alpaca_rows(4)
    jobs.write_jsonl("a.jsonl", rows)
    assert jobs.rows(jobs.run("load", provider="local", loader="jsonl", data_files="a.jsonl")) == rows
    # provider: local without a loader reads the type off the file name.
    assert jobs.rows(jobs.run("load", provider="local", data_files="a.jsonl")) == rows


def test_csv_list_of_files_is_concatenated_into_train(jobs):
    train = [{"text": f"t{i}", "label": i % 2} for i in range(3)]
    validation = [{"text": f"v{i}", "label": 1} for i in range(2)]
    jobs.write_csv("data/train.csv", train)
    jobs.write_csv("data/validation.csv", validation)
    ref = jobs.run("load", provider="local", loader="csv", data_files=["./data/train.csv", "./data/validation.csv"])
    assert jobs.rows(ref) == train + validation
    assert ref["columns"] == {"text": "string", "label": "int64"}


def test_split_mapping_picks_train_by_default_and_split_by_name(jobs):
    jobs.write_jsonl("train.jsonl", [{"text": "a"}, {"text": "b"}])
    jobs.write_jsonl("test.jsonl", [{"text": "c"}])
    files = {"train": "train.jsonl", "test": ["test.jsonl"]}
    assert jobs.rows(jobs.run("load", loader="json", data_files=files)) == [{"text": "a"}, {"text": "b"}]
    assert jobs.rows(jobs.run("load", loader="json", data_files=files, split="test")) == [{"text": "c"}]


def test_missing_split_lists_the_splits(jobs):
    jobs.write_jsonl("dev.jsonl", [{"text": "a"}])
    jobs.write_jsonl("test.jsonl", [{"text": "c"}])
    files = {"validation": "dev.jsonl", "test": "test.jsonl"}
    message = jobs.fail("load", loader="json", data_files=files)
    assert "no 'train' split" in message and "validation, test" in message
    message = jobs.fail("load", loader="json", data_files=files, split="tset")
    assert "'tset' does not exist" in message and "validation, test" in message


def test_parquet_and_text_loaders(jobs):
    rows = [{"a": i, "b": float(i) / 2} for i in range(5)]
    jobs.write_parquet("p.parquet", rows)
    assert jobs.rows(jobs.run("load", provider="local", loader="parquet", data_files="p.parquet")) == rows
    jobs.write_text("lines.txt", ["first line", "second", "third one"])
    ref = jobs.run("load", provider="local", loader="text", data_files="lines.txt")
    assert jobs.rows(ref) == [{"text": "first line"}, {"text": "second"}, {"text": "third one"}]
    assert ref["sft_format"] == "text"


def test_data_dir_reads_every_file_of_the_type(jobs):
    jobs.write_jsonl("training/b.jsonl", [{"text": "b1"}, {"text": "b2"}])
    jobs.write_json("training/a.json", [{"text": "a1"}])
    jobs.write_csv("training/ignored.csv", [{"text": "no"}])
    jobs.write_jsonl("training/.hidden.jsonl", [{"text": "no"}])
    ref = jobs.run("load", provider="local", loader="json", data_dir="./training")
    # Files are read in name order.
    assert jobs.rows(ref) == [{"text": "a1"}, {"text": "b1"}, {"text": "b2"}]


def test_data_dir_with_split_named_files_groups_them(jobs):
    jobs.write_jsonl("splits/train.jsonl", [{"text": "t"}])
    jobs.write_jsonl("splits/test.jsonl", [{"text": "x"}])
    assert jobs.rows(jobs.run("load", loader="json", data_dir="splits")) == [{"text": "t"}]
    assert jobs.rows(jobs.run("load", loader="json", data_dir="splits", split="test")) == [{"text": "x"}]


def test_glob_in_data_files(jobs):
    jobs.write_jsonl("parts/part-1.jsonl", [{"n": 1}])
    jobs.write_jsonl("parts/part-2.jsonl", [{"n": 2}])
    assert jobs.rows(jobs.run("load", loader="json", data_files="parts/*.jsonl")) == [{"n": 1}, {"n": 2}]


def test_local_path_through_job_input_loads_files(jobs, alpaca_rows):
    # The seed's workflow passes ``path: ${input.dataset}``; a local folder works there too.
    rows = alpaca_rows(3)
    jobs.write_jsonl("alpaca/train.jsonl", rows)
    assert jobs.rows(jobs.run("load", provider="huggingface", path="./alpaca", split="train")) == rows


def test_nested_dialect_loader_as_path(jobs):
    jobs.write_jsonl("d.jsonl", [{"text": "a"}])
    assert jobs.rows(jobs.run("load", path="json", data_files="d.jsonl")) == [{"text": "a"}]


@pytest.mark.parametrize("fraction", [0.3, "0.3", 1e-9, 1, "1.0"])
def test_fraction_keeps_ceil_of_n_times_fraction(jobs, fraction):
    rows = [{"n": i} for i in range(10)]
    jobs.write_jsonl("n.jsonl", rows)
    ref = jobs.run("load", loader="json", data_files="n.jsonl", fraction=fraction)
    # Decimal arithmetic: 10 * 0.3 is 3 rows, not ceil(3.0000000000000004) = 4.
    expected = {0.3: 3, "0.3": 3, 1e-9: 1, 1: 10, "1.0": 10}[fraction]
    assert jobs.rows(ref) == rows[:expected]


def test_shuffle_is_seeded_and_fraction_applies_after_it(jobs):
    rows = [{"n": i} for i in range(50)]
    jobs.write_jsonl("n.jsonl", rows)
    first = jobs.rows(jobs.run("load", loader="json", data_files="n.jsonl", shuffle=True, seed=1, fraction=0.5))
    again = jobs.rows(jobs.run("load", loader="json", data_files="n.jsonl", shuffle=True, seed=1, fraction=0.5))
    other = jobs.rows(jobs.run("load", loader="json", data_files="n.jsonl", shuffle=True, seed=2, fraction=0.5))
    assert first == again
    assert len(first) == math.ceil(50 * 0.5) and len(other) == 25
    assert first != other
    assert len({r["n"] for r in first}) == 25 and {r["n"] for r in first} <= set(range(50))
    assert first != rows[:25]  # shuffled, not the head


def test_fraction_out_of_range_is_refused(jobs):
    jobs.write_jsonl("n.jsonl", [{"n": 1}])
    for bad in (0, 1.5, "half"):
        assert "fraction" in jobs.fail("load", loader="json", data_files="n.jsonl", fraction=bad)
