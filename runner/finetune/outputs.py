"""What a finished (or resumed) training leaves behind, and the job's model reference."""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from compose.jobspec import MODEL_REF_TYPE
from runner.finetune.errors import ConfigProblem

CONFIG_FILE = "compose-config.json"
VERSIONS_FILE = "versions.json"
LABELS_FILE = "labels.json"
PACKAGES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "bitsandbytes")
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def checkpoints(output_dir: Path) -> list[Path]:
    """``checkpoint-N`` folders in ``output_dir``, oldest step first."""
    if not output_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in output_dir.iterdir() if p.is_dir() and (m := _CHECKPOINT.match(p.name))]
    return [p for _, p in sorted(found)]


def claim_output_dir(output_dir: Path, resume: str | None, overwrite: bool, log: Callable[[str], None]) -> None:
    """Refuse to train into a folder that holds another run's checkpoints, unless this job
    continues them (``resume_from_checkpoint``) or was told to start afresh (``overwrite``:
    they are removed, so every checkpoint in the folder is this run's)."""
    import shutil

    found = checkpoints(output_dir)
    if not found or resume:
        return
    if not overwrite:
        raise ConfigProblem(
            "output_dir",
            f"{output_dir} already holds checkpoints of an earlier run "
            f"({found[-1].name}); set resume_from_checkpoint: latest to continue "
            "it, choose another output_dir, or run with --overwrite-output",
        )
    for folder in found:
        shutil.rmtree(folder)
    log(f"--overwrite-output: removed {len(found)} earlier checkpoint(s) from {output_dir}")


def resolve_resume(
    value: str | None, output_dir: Path, resolve_path: Callable[[str], Path], lineage: Sequence[str] = ()
) -> Path | None:
    """The checkpoint to resume from: ``latest`` is the newest in output_dir, else in the
    first folder of ``lineage`` (the runs this one continues) that has one; None if none has."""
    if not value:
        return None
    if value == "latest":
        for folder in (output_dir, *(resolve_path(p) for p in lineage)):
            found = checkpoints(Path(folder))
            if found:
                return found[-1]
        return None
    path = resolve_path(value)
    if not path.is_dir():
        raise ConfigProblem("resume_from_checkpoint", f"checkpoint folder {value!r} not found (looked in {path})")
    if not (path / "trainer_state.json").is_file():
        raise ConfigProblem(
            "resume_from_checkpoint", f"{path} is not a training checkpoint (no trainer_state.json in it)"
        )
    return path


def package_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def write_run_files(
    output_dir: Path, config: dict[str, Any], redact: Callable[[str], str], labels: list[str] | None = None
) -> list[Path]:
    """The resolved compose config (secrets redacted) and package versions beside the model;
    a classifier's label names too (``labels.json``)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    config_path = output_dir / CONFIG_FILE
    config_path.write_text(redact(json.dumps(config, indent=2, ensure_ascii=False)) + "\n", encoding="utf-8")
    versions_path = output_dir / VERSIONS_FILE
    versions_path.write_text(json.dumps(package_versions(), indent=2) + "\n", encoding="utf-8")
    written = [config_path, versions_path]
    if labels is not None:
        written.append(write_labels(output_dir, labels))
    return written


def write_labels(output_dir: Path, labels: list[str]) -> Path:
    """``labels.json``, ``{"labels": [name of class 0, name of class 1, ...]}``: what a LoRA
    classifier's folder lacks, since an adapter carries no model config."""
    path = output_dir / LABELS_FILE
    path.write_text(json.dumps({"labels": labels}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def model_reference(
    output_dir: Path,
    *,
    global_step: int,
    adapter: bool,
    metrics: dict[str, float],
    checkpoint_paths: list[Path],
    labels: list[str] | None = None,
) -> dict[str, Any]:
    reference = {
        "type": MODEL_REF_TYPE,
        "output_dir": str(output_dir.resolve()),
        "global_step": global_step,
        "adapter": adapter,
        "metrics": metrics,
        "checkpoints": [str(p.resolve()) for p in checkpoint_paths],
    }
    if labels is not None:
        reference["labels"] = labels
    return reference


def tensorboard_dir(output_dir: Path) -> Path:
    """Where runs' TensorBoard folders go: ``output_dir/runs``, or ``TENSORBOARD_LOGGING_DIR``."""
    moved = os.environ.get("TENSORBOARD_LOGGING_DIR")
    return Path(moved).expanduser() if moved else output_dir / "runs"
