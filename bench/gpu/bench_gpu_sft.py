"""SFT on one GPU: our runner against plain TRL, with the settings a GPU run wants.

    python bench/gpu/bench_gpu_sft.py --out $OUT        # an H100: about 5 minutes
    python bench/gpu/bench_gpu_sft.py --dry-run --out /tmp/b   # CPU, tiny sizes: the code path only

Offline: it builds a random-weight Llama of about 0.5B parameters and trains a
tokenizer on the fly (throughput and memory depend on shapes, not weights). Cases:

1. ``full``: full fine-tune, bf16, packing, ``adamw_torch_fused``, our runner vs plain
   TRL. The runner turns on Liger kernels by itself when ``liger_kernel`` is importable,
   so plain TRL gets ``use_liger_kernel`` then too, and runs once more without them
   (``full-no-liger``, not compared: what the kernels are worth). ``--skip liger`` turns
   them off on both sides (``COMPOSE_LIGER_KERNEL=0`` for the runner).
2. ``qlora``: 4-bit nf4 base + LoRA r=16, our runner vs plain TRL (Liger as in 1).
3. ``torchrun``: our runner with ``resources: {gpus: 2}`` when two GPUs are visible.

A short plain run on a twentieth of the rows comes first and is not compared: on a fresh
machine the first training was about 9 s slower whichever side ran it.

Each run happens in a fresh process. Reported per run: tokens/s of the training loop,
peak GPU memory (``torch.cuda.max_memory_allocated``) and MFU = 6 * parameters * tokens/s
/ peak bf16 dense FLOP/s (989e12 for an H100 SXM). Results go to ``OUT/gpu_sft.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.gpu.data import fitting_rows, instruction_rows, save_rows  # noqa: E402
from bench.gpu.harness import in_fresh_process  # noqa: E402
from bench.gpu.models import SHAPE_500M, SHAPE_TINY, build_random_llama, parameter_count  # noqa: E402
from bench.gpu.settings import BenchSettings  # noqa: E402

H100_BF16_DENSE_FLOPS = 989e12


def gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def gpu_name() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def liger_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("liger_kernel") is not None


def liger_choice(skip: list[str], gpus: int, skipped: list[str]) -> bool:
    """Whether both sides train with Liger kernels: the runner's own rule (a GPU and the
    package), unless ``--skip liger``, which also switches the runner's off."""
    from runner.finetune.args import liger_allowed

    if "liger" in skip:
        os.environ["COMPOSE_LIGER_KERNEL"] = "0"  # inherited by each side's process
        skipped.append("liger: --skip (off on both sides)")
        return False
    if not liger_allowed():
        skipped.append("liger: COMPOSE_LIGER_KERNEL is off (off on both sides)")
        return False
    if not liger_available():
        skipped.append("liger: liger_kernel is not installed (off on both sides)")
        print("Liger kernels: off on both sides (liger_kernel is not installed)")
        return False
    if not gpus:
        skipped.append("liger: needs a GPU (off on both sides)")
        return False
    return True


def mfu(params: int, tokens_per_second: float | None, peak_flops: float) -> float | None:
    """Model FLOPs utilization: 6 FLOPs per parameter per token (forward + backward)."""
    return 6 * params * tokens_per_second / peak_flops if tokens_per_second else None


def measure(
    label: str,
    side: str,
    settings: BenchSettings,
    tokens: int,
    params: int,
    trainable: int | None,
    workdir: Path,
    peak_flops: float,
    timeout_s: float,
) -> dict[str, Any]:
    print(f"[{time.strftime('%H:%M:%S')}] {label}: {side} ...", flush=True)
    result = in_fresh_process(side, settings, workdir / f"{label}-{side}.json", timeout_s=timeout_s)
    result.update(case=label, side=side)
    if "error" in result:
        print(f"  failed: {result['error']}\n{result.get('stderr_tail', '')[-1500:]}", flush=True)
        return result
    train_s = result.get("train_s")
    result["tokens"] = tokens
    result["tokens_per_second"] = tokens / train_s if train_s else None
    result["mfu"] = mfu(params, result["tokens_per_second"], peak_flops)
    if trainable is not None:
        result["trainable_parameters"] = trainable
    gib = (result.get("peak_gpu_bytes") or 0) / 2**30
    print(
        f"  {result['tokens_per_second'] or 0:,.0f} tokens/s, train {train_s or 0:.1f} s, "
        f"peak GPU {gib:.2f} GiB, MFU {(result['mfu'] or 0) * 100:.1f}%",
        flush=True,
    )
    return result


def compare(results: list[dict[str, Any]], case: str) -> dict[str, Any]:
    by_side = {r["side"]: r for r in results if r.get("case") == case and "error" not in r}
    ours, plain = by_side.get("ours"), by_side.get("plain")
    if not ours or not plain:
        return {"case": case, "note": "a side failed; no ratio"}
    speed = (
        ours["tokens_per_second"] / plain["tokens_per_second"]
        if ours.get("tokens_per_second") and plain.get("tokens_per_second")
        else None
    )
    memory = (
        ours["peak_gpu_bytes"] / plain["peak_gpu_bytes"]
        if ours.get("peak_gpu_bytes") and plain.get("peak_gpu_bytes")
        else None
    )
    # The same final loss on both sides: the runner trained what plain TRL trained.
    return {
        "case": case,
        "speed_ratio": speed,
        "gpu_memory_ratio": memory,
        "loss_ours": ours.get("loss"),
        "loss_plain": plain.get("loss"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for gpu_sft.json")
    parser.add_argument("--dry-run", action="store_true", help="tiny model and data on CPU: the code path only")
    parser.add_argument("--rows", type=int, default=None, help="training rows (default 12000, dry run 16)")
    parser.add_argument("--max-length", type=int, default=None, help="packed sequence length (default 2048)")
    parser.add_argument("--batch-size", type=int, default=None, help="per-device batch (default 8)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["liger", "qlora", "torchrun"])
    parser.add_argument("--timeout", type=float, default=150, help="seconds allowed per run")
    parser.add_argument("--ours-first", action="store_true", help="run our side before plain TRL in each case")
    parser.add_argument(
        "--no-warmup",
        action="store_true",
        help="skip the discarded warm-up run (the first training on a fresh machine was "
        "about 9 s slower, whichever side it was)",
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    gpus = gpu_count()
    if not gpus and not args.dry_run:
        raise SystemExit("no GPU visible: use --dry-run to exercise the script on CPU")
    dry = args.dry_run
    rows_wanted = args.rows or (16 if dry else 12000)
    max_length = args.max_length or (128 if dry else 2048)
    batch = args.batch_size or (2 if dry else 8)
    peak_flops = H100_BF16_DENSE_FLOPS
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "device": gpu_name(),
        "gpus": gpus,
        "dry_run": dry,
        "peak_flops": peak_flops,
        "runs": [],
        "comparisons": [],
        "skipped": [],
    }

    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        workdir = Path(tmp)
        started = time.monotonic()
        texts = [f"{r['prompt']} {r['response']}" for r in instruction_rows(2000, seed=1)]
        model = build_random_llama(
            workdir / "model",
            SHAPE_TINY if dry else SHAPE_500M,
            texts,
            max_positions=max(max_length, 512),
            dtype="float32" if dry else "bfloat16",
        )
        params = parameter_count(model)
        rows, tokens = fitting_rows(str(model), instruction_rows(rows_wanted), max_length)
        storage = workdir / "storage"
        data_dir, data_path = save_rows(rows, storage, "bench")
        warmup_dir, warmup_path = save_rows(rows[: max(16, len(rows) // 20)], storage, "warmup")
        report.update(
            parameters=params,
            rows=len(rows),
            tokens=tokens,
            max_length=max_length,
            batch_size=batch,
            setup_s=time.monotonic() - started,
        )
        print(
            f"model: {params / 1e6:.0f}M parameters; {len(rows)} rows, {tokens:,} tokens; "
            f"device {report['device']} x{gpus}",
            flush=True,
        )

        liger = liger_choice(args.skip, gpus, report["skipped"])
        report["liger"] = liger
        base = BenchSettings(
            model=str(model),
            data_dir=data_dir,
            storage_dir=str(storage),
            data_path=data_path,
            output_dir="",
            batch_size=batch,
            max_length=max_length,
            learning_rate=1e-5,
            optimizer="adamw_torch" if dry else "adamw_torch_fused",
            bf16=not dry,
            packing=True,
            logging_steps=10,
            seed=0,
            liger=liger,
        )

        def run(label: str, side: str, settings: BenchSettings, trainable: int | None = None) -> None:
            settings = replace(settings, output_dir=str(workdir / f"out-{label}-{side}"))
            report["runs"].append(
                measure(label, side, settings, tokens, params, trainable, workdir, peak_flops, args.timeout)
            )
            _write(args.out, report)

        sides = ("ours", "plain") if args.ours_first else ("plain", "ours")
        if not args.no_warmup:
            # Kernels compiled and files cached by the first run would otherwise favour the second side.
            run("warmup", "plain", replace(base, data_dir=warmup_dir, data_path=warmup_path))

        # 1. full fine-tune
        for side in sides:
            run("full", side, base)
        report["comparisons"].append(compare(report["runs"], "full"))
        if liger:
            run("full-no-liger", "plain", replace(base, liger=False))

        # 2. QLoRA: 4-bit base, LoRA on attention and MLP projections
        if "qlora" in args.skip:
            report["skipped"].append("qlora: --skip")
        else:
            qlora = replace(
                base,
                quantization="nf4",
                lora_r=16,
                learning_rate=2e-4,
                lora_target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            )
            if dry:  # bitsandbytes 4-bit on CPU works, but keep the dry run light
                qlora = replace(qlora, bf16=False)
            for side in sides:
                run("qlora", side, qlora)
            report["comparisons"].append(compare(report["runs"], "qlora"))

        # 3. two GPUs through torchrun
        if "torchrun" in args.skip:
            report["skipped"].append("torchrun: --skip")
        elif gpus >= 2:
            run("torchrun-2gpu", "ours", replace(base, gpus=2))
        else:
            report["skipped"].append(f"torchrun: {gpus} GPU(s) visible, 2 needed")
            print(f"2-GPU torchrun check: skipped ({gpus} GPU visible)")

    report["total_s"] = time.monotonic() - started
    path = _write(args.out, report)
    for comparison in report["comparisons"]:
        print(json.dumps(comparison))
    print(f"wrote {path} in {report['total_s']:.0f} s")
    return 0


def _write(out: Path, report: dict[str, Any]) -> Path:
    path = out / "gpu_sft.json"
    path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
