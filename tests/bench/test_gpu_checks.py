"""The GPU path checks stay runnable: on this CPU machine they train what a CPU can and
expect the CUDA-only optimizer to be refused before training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.gpu import check_gpu_paths

pytestmark = pytest.mark.slow


def test_checks_pass_here_and_write_their_report(tmp_path: Path) -> None:
    import torch

    code = check_gpu_paths.main(["--out", str(tmp_path), "--only", "QLoRA nf4", "galore_adamw_8bit"])
    report = json.loads((tmp_path / "gpu_checks.json").read_text())
    assert code == 0 and report["failed"] == []
    assert set(report["cases"]) == {"QLoRA nf4, bf16 compute, double quant", "optimizer galore_adamw_8bit"}
    qlora = report["cases"]["QLoRA nf4, bf16 compute, double quant"]
    assert qlora["checks"] == {"all_steps": True, "finite_losses": True, "weights_changed": True}
    galore = report["cases"]["optimizer galore_adamw_8bit"]
    if not torch.cuda.is_available():
        assert galore["refused_before_training"] and "needs a CUDA GPU" in galore["message"]
