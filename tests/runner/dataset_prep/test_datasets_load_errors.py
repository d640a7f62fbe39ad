"""Bad input: the message says what is wrong and where, and nothing half-made is left behind."""

from __future__ import annotations

import os


def test_missing_data_file_names_it(jobs):
    message = jobs.fail("load", provider="local", loader="json", data_files="./data/train.json")
    assert "data file './data/train.json' not found" in message
    assert str(jobs.base / "data" / "train.json") in message


def test_missing_data_dir_and_empty_folder(jobs):
    assert "data_dir './nope' not found" in jobs.fail("load", loader="json", data_dir="./nope")
    (jobs.base / "empty").mkdir()
    jobs.write_csv("empty/x.csv", [{"a": 1}])
    assert "holds no data files (.json, .jsonl)" in jobs.fail("load", loader="json", data_dir="empty")


def test_unmatched_glob(jobs):
    assert "no data file matches 'parts/*.jsonl'" in jobs.fail("load", loader="json", data_files="parts/*.jsonl")


def test_malformed_json_line_names_the_file_and_row(jobs):
    jobs.write_jsonl("good.jsonl", [{"a": 1}])
    jobs._write("bad.jsonl", '{"a": 1}\n{"a": 2\n{"a": 3}\n')
    message = jobs.fail("load", loader="json", data_files=["good.jsonl", "bad.jsonl"])
    assert f"cannot read json file {jobs.base / 'bad.jsonl'}" in message
    assert "line 2, column 8: Expecting ',' delimiter" in message
    assert "JSON parse error" in message
    assert [n for n in os.listdir(jobs.storage / "datasets") if n.startswith(".")] == []


def test_malformed_json_document_names_line_and_column(jobs):
    jobs._write("bad.json", '[\n  {"a": 1},\n  {"a" 2}\n]\n')
    message = jobs.fail("load", loader="json", data_files="bad.json")
    assert f"cannot read json file {jobs.base / 'bad.json'}: line 3, column 8" in message


def test_malformed_csv_names_the_file_and_line(jobs):
    jobs._write("bad.csv", "a,b\n1,2\n3,4,5\n")
    message = jobs.fail("load", loader="csv", data_files="bad.csv")
    assert f"cannot read csv file {jobs.base / 'bad.csv'}" in message
    assert "line 3" in message


def test_unknown_file_type_asks_for_a_loader(jobs):
    jobs._write("data.dat", "x")
    assert "set loader: json, csv, parquet or text" in jobs.fail("load", provider="local", data_files="data.dat")


def test_local_load_without_files(jobs):
    assert "needs data_files" in jobs.fail("load", provider="local", loader="json")


def test_unknown_config_key_is_refused(jobs):
    message = jobs.fail("load", loader="json", data_files="x.json", fractoin=0.5)
    assert "fractoin" in message


def test_relative_paths_stay_inside_the_workspace(jobs):
    outside = jobs.base.parent / "outside.jsonl"
    outside.write_text('{"a": 1}\n')
    message = jobs.fail("load", loader="json", data_files="../outside.jsonl")
    assert "../outside.jsonl leaves the folder it is relative to" in message
    assert "leaves the folder" in jobs.fail("load", loader="json", data_dir="sub/../..")
    # data_files under data_dir are checked after joining them.
    (jobs.base / "sub").mkdir()
    assert "leaves the folder" in jobs.fail("load", loader="json", data_dir="sub", data_files="../../outside.jsonl")
