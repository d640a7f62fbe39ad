"""One benchmark configuration, shared by the runner side and the plain-TRL side."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class BenchSettings:
    model: str  # a local model folder
    data_dir: str  # rows (prompt, response) saved with Dataset.save_to_disk
    storage_dir: str  # data_dir is storage_dir/<data_path>, as a dataset reference wants it
    data_path: str
    output_dir: str
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 256
    learning_rate: float = 1e-4
    optimizer: str = "adamw_torch"
    bf16: bool = False
    packing: bool = False
    gradient_checkpointing: bool = False
    liger: bool = False
    lora_r: int = 0  # 0: full fine-tune
    lora_target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    quantization: str | None = None  # "nf4" for QLoRA
    logging_steps: int = 5
    seed: int = 42
    gpus: int = 0  # the runner side: >= 2 starts it through torchrun

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: str | Path) -> BenchSettings:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))
