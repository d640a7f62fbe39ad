"""Benchmark rows: prompt/response pairs made offline, saved as a data set, and counted in tokens."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAKE_DATA = PROJECT_ROOT / "examples" / "make_data.py"


def instruction_rows(n: int, seed: int = 7) -> list[dict[str, str]]:
    """``n`` rows from reasoning-gym (as the examples use), or arithmetic drills without it."""
    if importlib.util.find_spec("reasoning_gym") is not None and MAKE_DATA.is_file():
        spec = importlib.util.spec_from_file_location("compose_examples_make_data", MAKE_DATA)
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        spec.loader.exec_module(module)
        per_task = -(-n // len(module.INSTRUCTION_TASKS))
        return module.instruction_rows(per_task, seed)[:n]
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b = rng.randint(1, 999), rng.randint(1, 999)
        rows.append({"prompt": f"What is {a} + {b}? Answer with the number only.", "response": str(a + b)})
    return rows


def row_tokens(tokenizer: Any, row: dict[str, str]) -> int:
    """Tokens of one row as both trainers see it: prompt and response through the chat template."""
    messages = [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["response"]}]
    ids = tokenizer.apply_chat_template(messages, tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return len(ids)


def fitting_rows(model_dir: str, rows: list[dict[str, str]], max_length: int) -> tuple[list[dict[str, str]], int]:
    """The rows that fit ``max_length`` (so neither side truncates), and their total tokens."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    kept, total = [], 0
    for row in rows:
        count = row_tokens(tokenizer, row)
        if count <= max_length:
            kept.append(row)
            total += count
    return kept, total


def save_rows(rows: list[dict[str, str]], storage_dir: Path, name: str) -> tuple[str, str]:
    """Save ``rows`` under ``storage_dir/datasets/name``; return (absolute folder, relative path)."""
    from datasets import Dataset

    relative = f"datasets/{name}"
    folder = storage_dir / relative
    Dataset.from_list(rows).save_to_disk(str(folder))
    return str(folder), relative
