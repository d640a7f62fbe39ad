"""Write the examples' training data, offline, from reasoning-gym's task generators.

    python examples/make_data.py            # writes examples/data/*.jsonl

- ``instructions-{train,eval}.jsonl``: ``{"prompt", "response"}`` rows, questions and
  their exact answers from a handful of short-answer task families (SFT).
- ``task-type-{train,eval}.jsonl``: ``{"text", "label"}`` rows, a question and the
  name of the task family that generated it (classification with real labels).

Rows are seeded, so two runs write the same files.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

# Short questions with short exact answers: fast to train on, easy to check.
INSTRUCTION_TASKS: tuple[str, ...] = (
    "basic_arithmetic",
    "chain_sum",
    "spell_backward",
    "letter_counting",
    "gcd",
    "caesar_cipher",
)
# Families whose questions differ in wording and content, one label each.
CLASSIFICATION_TASKS: dict[str, str] = {
    "basic_arithmetic": "arithmetic",
    "letter_counting": "counting",
    "spell_backward": "spelling",
    "caesar_cipher": "cipher",
}

DEFAULT_OUT = Path(__file__).resolve().parent / "data"
FILE_NAMES: tuple[str, ...] = (
    "instructions-train.jsonl",
    "instructions-eval.jsonl",
    "task-type-train.jsonl",
    "task-type-eval.jsonl",
)


def generate(task: str, size: int, seed: int) -> list[dict[str, str]]:
    """``size`` question/answer pairs of one reasoning-gym task family."""
    import reasoning_gym

    return [
        {"question": item["question"], "answer": str(item["answer"])}
        for item in reasoning_gym.create_dataset(task, size=size, seed=seed)
    ]


def instruction_rows(per_task: int, seed: int) -> list[dict[str, str]]:
    rows = [
        {"prompt": qa["question"], "response": qa["answer"]}
        for i, task in enumerate(INSTRUCTION_TASKS)
        for qa in generate(task, per_task, seed + i)
    ]
    random.Random(seed).shuffle(rows)
    return rows


def classification_rows(per_label: int, seed: int) -> list[dict[str, str]]:
    rows = [
        {"text": qa["question"], "label": label}
        for i, (task, label) in enumerate(CLASSIFICATION_TASKS.items())
        for qa in generate(task, per_label, seed + i)
    ]
    random.Random(seed).shuffle(rows)
    return rows


def write_jsonl(path: Path, rows: Iterable[dict[str, str]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def split(rows: list[dict[str, str]], eval_size: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    return rows[eval_size:], rows[:eval_size]


def make_all(out: Path, *, train_size: int = 480, eval_size: int = 48, seed: int = 7) -> Iterator[tuple[Path, int]]:
    """Write every file; yield (path, rows) for each. Sizes are per file (train, eval)."""
    total = train_size + eval_size
    instructions = instruction_rows(-(-total // len(INSTRUCTION_TASKS)), seed)[:total]
    names = iter(FILE_NAMES)
    for rows in split(instructions, eval_size):
        path = out / next(names)
        yield path, write_jsonl(path, rows)

    # Different seed: the classifier's questions are not the SFT questions.
    labelled = classification_rows(-(-total // len(CLASSIFICATION_TASKS)), seed + 1000)[:total]
    for rows in split(labelled, eval_size):
        path = out / next(names)
        yield path, write_jsonl(path, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder to write (default {DEFAULT_OUT})")
    parser.add_argument("--train-size", type=int, default=480, help="rows per training file")
    parser.add_argument("--eval-size", type=int, default=48, help="rows per evaluation file")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    for path, count in make_all(args.out, train_size=args.train_size, eval_size=args.eval_size, seed=args.seed):
        print(f"wrote {count:5d} rows to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
