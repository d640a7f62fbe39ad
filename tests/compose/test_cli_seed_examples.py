"""The chapter's §9.8.1 and §9.8.2 examples run end to end through `compose run`.

Each file is the chapter's text with one change where it cannot run offline: the hub
data set (§9.8.1) becomes a local JSON file with the same columns, and §9.8.2, a single
trainer component, gets a loader and a workflow around it. The trainer blocks are the
chapter's own, word for word; `--model-default` points them at a tiny local model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import runner.launch
from runner.cli import main
from tests.compose.seed_blocks import seed_blocks
from tests.fixtures import data

pytestmark = pytest.mark.slow

ALPACA = next(b.text for b in seed_blocks() if b.section == "9.8.1")
QLORA = next(b.text for b in seed_blocks() if b.section == "9.8.2")
HUB_LOADER = "    provider: huggingface\n    path: tatsu-lab/alpaca\n    split: train\n"
LOCAL_LOADER = "    provider: local\n    loader: json\n    data_files: ./data/alpaca.json\n"


@pytest.fixture(autouse=True)
def in_process(monkeypatch):
    monkeypatch.setattr(runner.launch, "SubprocessExecutor", runner.launch.InProcessExecutor)


def compose_run(path: Path, model: Path, capsys) -> dict:
    code = main(["run", str(path), "--model-default", f"sft={model}"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "[train] succeeded" in captured.err
    return json.loads(captured.out)


def test_alpaca_lora_example(tmp_path: Path, tiny_causal_lm_dir: Path, capsys) -> None:
    assert HUB_LOADER in ALPACA
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "alpaca.json").write_text(json.dumps(data.instruction_rows(16)))
    path = tmp_path / "alpaca.yaml"
    path.write_text(ALPACA.replace(HUB_LOADER, LOCAL_LOADER))

    output = compose_run(path, tiny_causal_lm_dir, capsys)

    # 16 rows, batch 4 x accumulation 4: one step an epoch, num_epochs: 3.
    assert output["global_step"] == 3 and output["adapter"] is True
    out = Path(output["output_dir"])
    assert out == (tmp_path / "output" / "alpaca-lora").resolve()
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert (adapter["r"], adapter["lora_alpha"], adapter["lora_dropout"]) == (16, 32, 0.05)
    assert sorted(adapter["target_modules"]) == ["q_proj", "v_proj"]
    saved = json.loads((out / "compose-config.json").read_text())
    assert saved["fp16"] is True and saved["gradient_checkpointing"] is True and saved["max_seq_length"] == 512


def test_qlora_example(tmp_path: Path, tiny_causal_lm_dir: Path, capsys) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "text.json").write_text(json.dumps(data.text_rows(16)))
    loader = (
        "components:\n  - id: local-text\n    type: datasets\n    provider: local\n    loader: json\n"
        "    data_files: ./data/text.json\n\n"
    )
    workflow = (
        "\nworkflows:\n  - id: train-qlora\n    jobs:\n      - id: load\n        component: local-text\n"
        "      - id: train\n        component: qlora-trainer\n        input:\n"
        "          dataset: ${jobs.load.output}\n        depends_on: [load]\n"
    )
    assert QLORA.startswith("components:\n")
    path = tmp_path / "qlora.yaml"
    path.write_text(QLORA.replace("components:\n", loader, 1).rstrip("\n") + "\n" + workflow)

    output = compose_run(path, tiny_causal_lm_dir, capsys)

    assert output["global_step"] >= 1 and output["adapter"] is True
    out = Path(output["output_dir"])
    assert out == (tmp_path / "output" / "qlora-model").resolve()
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert (adapter["r"], adapter["lora_alpha"]) == (64, 16)
    saved = json.loads((out / "compose-config.json").read_text())
    assert (saved["quantization"], saved["bnb_4bit_compute_dtype"], saved["optimizer"]) == (
        "nf4",
        "bfloat16",
        "adamw_8bit",
    )
    assert saved["packing"] is True and saved["bf16"] is True
