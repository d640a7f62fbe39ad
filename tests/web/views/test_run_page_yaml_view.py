"""The run page writes a job's config as YAML in the browser (static/js/yaml_view.js) as
the server does after a reload: run under Node, read back by PyYAML."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
NODE = shutil.which("node")

TRICKY = {
    "1": 4, "a: b": 1, "#k": 2, "true": 3,
    "half": ".5", "inf": ".inf", "nan": ".NaN", "text_yes": "yes", "tilde": "~", "empty": "",
    "small": 1e-7, "big": 1.5e21, "lr": 0.0002, "negative": -3, "flag": False, "none": None,
    "multi": "line1\nline2", "quote": "it's", "colon": "key: value", "hash": "a #b", "trailing": "x ",
    "path": "/srv/ws/models/tiny", "date": "2026-11-27", "hex": "0x1F",
    "nested": {"x": [1, "two", {"y": None, "z": [[1, 2], []]}], "empty_map": {}},
}
TRAINER = {"id": "trainer", "type": "model-trainer", "task": "sft", "model": "/ws/models/tiny",
           "learning_rate": 0.0002, "per_device_train_batch_size": 8, "lora_target_modules": ["q_proj", "v_proj"],
           "dataset": {"type": "dataset", "path": "datasets/ab", "num_rows": 16}, "token": "***",
           "resources": {"gpus": 0, "launcher": "torchrun", "processes": None}, "packing": False}


def to_yaml(value: dict) -> str:
    if NODE is None:
        pytest.fail("needs Node.js (bash scripts/setup.sh installs it)")
    script = "const toYaml = require(process.argv[1]); process.stdout.write(toYaml(JSON.parse(process.argv[2])));"
    return subprocess.run([NODE, "-e", script, str(ROOT / "static" / "js" / "yaml_view.js"), json.dumps(value)],
                          capture_output=True, text=True, check=True, timeout=30).stdout


def test_every_value_reads_back_as_itself():
    assert yaml.safe_load(to_yaml(TRICKY)) == TRICKY


def test_a_trainer_config_looks_as_the_server_writes_it():
    server = yaml.safe_dump(TRAINER, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
    assert to_yaml(TRAINER) + "\n" == server
