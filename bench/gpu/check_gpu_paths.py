"""Checks, on a lent GPU, the trainer paths that only a GPU exercises.

Each case trains a small random Llama through the runner (``run_job``, as ``compose run``
does) for a few steps and then checks that it really trained: every step done, every
logged loss finite, and the saved weights changed (a LoRA ``B`` matrix, which starts at
zero, or a full model's weights against the base). On a machine without CUDA the
CUDA-only cases must instead be refused before training, with a message that says so.

    python bench/gpu/check_gpu_paths.py --out DIR     # writes DIR/gpu_checks.json; exit 1 if a check failed

``bench/gpu/device.sh`` runs it before the benchmark. Not a test: the CI has no GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.gpu.data import instruction_rows, save_rows  # noqa: E402
from bench.gpu.harness import trainer_config  # noqa: E402
from bench.gpu.models import SHAPE_TINY, build_random_llama  # noqa: E402
from bench.gpu.settings import BenchSettings  # noqa: E402
from compose.schema.components import OPTIMIZERS  # noqa: E402
from runner.finetune.optimizers import CUDA_ONLY, transformers_name  # noqa: E402

# schedule_free_radamw leaves the weights as they are for its first few steps (RAdam's warm-up).
STEPS = 10
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class Case:
    name: str
    fields: dict[str, Any]
    cuda_only: bool = False  # without CUDA: must be refused up front
    notes: list[str] = field(default_factory=list)


CASES = [
    Case("bf16 + adamw_torch_fused (full)", {"bf16": True, "optimizer": "adamw_torch_fused"}),
    Case("fp16 + adamw_torch (full)", {"fp16": True, "optimizer": "adamw_torch"}),
    Case(
        "gradient_checkpointing + bf16 + LoRA",
        {
            "bf16": True,
            "gradient_checkpointing": True,
            "peft_adapter": "lora",
            "lora_r": 8,
            "lora_target_modules": ALL_LINEAR,
        },
    ),
    Case(
        "QLoRA nf4, bf16 compute, double quant",
        {
            "bf16": True,
            "peft_adapter": "lora",
            "lora_r": 8,
            "lora_target_modules": ALL_LINEAR,
            "quantization": "nf4",
            "bnb_4bit_compute_dtype": "bfloat16",
            "bnb_4bit_use_double_quant": True,
        },
    ),
    Case("QLoRA int4 (fp4)", {"peft_adapter": "lora", "lora_r": 8, "quantization": "int4"}),
    Case("QLoRA int8", {"peft_adapter": "lora", "lora_r": 8, "quantization": "int8"}),
    Case("packing + bf16 (padding-free)", {"bf16": True, "packing": True}),
]
# Every optimizer the seed lists, full fine-tune in float32, on whatever device this is.
CASES += [
    Case(f"optimizer {name}", {"optimizer": name}, cuda_only=transformers_name(name) in CUDA_ONLY)
    for name in OPTIMIZERS
]


def run_case(case: Case, base: dict[str, Any], storage: Path, workdir: Path, cuda: bool) -> dict[str, Any]:
    """Train ``base`` with the case's fields; the case's result, ``ok`` first."""
    from compose.jobspec import JobFailed, JobSpec
    from runner.main import run_job

    out_dir = workdir / "out" / "".join(c if c.isalnum() else "-" for c in case.name)
    config = {**base, **case.fields, "output_dir": str(out_dir), "max_steps": STEPS, "logging_steps": 1}
    spec = JobSpec(
        run_id="gpu-checks",
        job_id="train",
        component_id="bench",
        component_type="model-trainer",
        method="train",
        config=config,
        base_dir=str(workdir),
        storage_dir=str(storage),
    )
    seen: list[dict[str, Any]] = []
    started = time.monotonic()
    expect_refusal = case.cuda_only and not cuda
    try:
        output = run_job(spec, seen.append)
    except JobFailed as exc:
        if expect_refusal:
            refused_up_front = not any(e["type"] == "progress" for e in seen)
            ok = refused_up_front and "needs a CUDA GPU" in exc.message
            return {
                "ok": ok,
                "expected": "refused without CUDA",
                "message": exc.message,
                "refused_before_training": refused_up_front,
            }
        return {"ok": False, "error": exc.message, "log_tail": _log_tail(seen)}
    if expect_refusal:
        return {"ok": False, "error": "trained without CUDA; it should have been refused up front"}
    losses = [
        e["values"]["loss"]
        for e in seen
        if e["type"] == "metric" and e.get("split") == "train" and "loss" in e["values"]
    ]
    changed = weights_changed(Path(output["output_dir"]), base["model"], adapter=output["adapter"])
    checks = {
        "all_steps": output["global_step"] == STEPS,
        "finite_losses": bool(losses) and all(math.isfinite(x) for x in losses),
        "weights_changed": changed,
    }
    return {
        "ok": all(checks.values()),
        "checks": checks,
        "losses": losses,
        "seconds": time.monotonic() - started,
        "peak_gpu_bytes": _peak_gpu_bytes(),
    }


def weights_changed(out_dir: Path, base_model: str, *, adapter: bool) -> bool:
    from safetensors.torch import load_file

    if adapter:
        tensors = load_file(out_dir / "adapter_model.safetensors")
        return any(t.count_nonzero() > 0 for name, t in tensors.items() if "lora_B" in name)
    trained = load_file(out_dir / "model.safetensors")
    original = load_file(Path(base_model) / "model.safetensors")
    return any(
        name in trained and not trained[name].float().equal(original[name].float())
        for name in original
        if name.endswith("proj.weight")
    )


def _log_tail(seen: list[dict[str, Any]]) -> str:
    return "\n".join(e.get("message", "") for e in seen if e["type"] == "log")[-2000:]


def _peak_gpu_bytes() -> int | None:
    import torch

    if not torch.cuda.is_available():
        return None
    peak = int(torch.cuda.max_memory_allocated())
    torch.cuda.reset_peak_memory_stats()
    return peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for gpu_checks.json")
    parser.add_argument("--only", nargs="*", default=None, help="run the cases whose name contains one of these")
    args = parser.parse_args(argv)

    import gc

    import torch

    cuda = torch.cuda.is_available()
    cases = [c for c in CASES if not args.only or any(word in c.name for word in args.only)]
    report: dict[str, Any] = {"device": torch.cuda.get_device_name(0) if cuda else "cpu", "steps": STEPS, "cases": {}}
    with tempfile.TemporaryDirectory(prefix="gpu-checks-") as tmp:
        workdir = Path(tmp)
        rows = instruction_rows(64)
        model = build_random_llama(
            workdir / "model", SHAPE_TINY, [f"{r['prompt']} {r['response']}" for r in rows], max_positions=512
        )
        storage = workdir / "storage"
        data_dir, data_path = save_rows(rows, storage, "checks")
        settings = BenchSettings(
            model=str(model),
            data_dir=data_dir,
            storage_dir=str(storage),
            data_path=data_path,
            output_dir="",
            batch_size=4,
            max_length=128,
            learning_rate=1e-3,
        )
        base = trainer_config(settings)
        for case in cases:
            print(f"[{time.strftime('%H:%M:%S')}] {case.name} ...", flush=True)
            try:
                result = run_case(case, base, storage, workdir, cuda)
            except Exception as exc:  # a check script reports every case, whatever one of them does
                result = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
            report["cases"][case.name] = result
            print(
                f"  {'ok' if result['ok'] else 'FAILED'}: "
                f"{result.get('expected') or result.get('checks') or result.get('error')}",
                flush=True,
            )
            gc.collect()
            if cuda:
                torch.cuda.empty_cache()
    failed = [name for name, r in report["cases"].items() if not r["ok"]]
    report["failed"] = failed
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_checks.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(
        f"{len(cases) - len(failed)} of {len(cases)} cases passed on {report['device']}"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
