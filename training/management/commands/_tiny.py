"""A tiny random Llama, its tokenizer and a small data set: a run that finishes in seconds.

Used by ``make_tiny_model`` and ``bootstrap`` so a newcomer can watch a whole training
run on a laptop CPU before preparing the real examples.
"""

from __future__ import annotations

import json
from pathlib import Path

MODEL_DIR = "models/tiny-llama"
DATA_FILE = "data/tiny-sft.jsonl"
DOCUMENT_NAME = "tiny-sft"

PAIRS = [
    ("What is two plus two?", "Four."),
    ("What is the capital of France?", "Paris."),
    ("What colour is the sky on a clear day?", "Blue."),
    ("How many legs does a spider have?", "Eight."),
    ("What do bees make?", "Honey."),
    ("Which planet is closest to the sun?", "Mercury."),
    ("What is ten minus three?", "Seven."),
    ("What is frozen water called?", "Ice."),
]

DOCUMENT = """\
# A tiny SFT run that finishes in seconds on a CPU: a 2-layer random Llama learns a
# handful of question/answer lines. The model and data were written into this
# workspace by `python manage.py make_tiny_model` (bootstrap runs it).
# Press Run on the tiny-sft workflow; try a larger learning rate or more epochs.
components:
  - id: qa-lines
    type: datasets
    provider: local
    loader: json
    data_files: ./data/tiny-sft.jsonl

  - id: tiny-trainer
    type: model-trainer
    task: sft
    model: ./models/tiny-llama
    dataset: ${input.dataset}
    text_column: text
    max_seq_length: 64
    learning_rate: ${input.learning_rate | 0.001}
    per_device_train_batch_size: 4
    num_epochs: ${input.epochs | 3}
    logging_steps: 2
    save_steps: 10
    seed: 42
    output_dir: ./output/tiny-sft

workflows:
  - id: tiny-sft
    title: Tiny SFT (seconds on CPU)
    jobs:
      - id: load
        component: qa-lines
      - id: train
        component: tiny-trainer
        input:
          dataset: ${jobs.load.output}
        depends_on: [load]
"""


def text_rows(repeat: int = 4) -> list[dict[str, str]]:
    return [{"text": f"Question: {q} Answer: {a}"} for q, a in PAIRS] * repeat


def write_data(root: Path) -> Path:
    path = root / DATA_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in text_rows()), encoding="utf-8")
    return path


def write_model(root: Path, seed: int = 0) -> Path:
    """Save a 2-layer Llama (hidden 64) with a byte-level BPE tokenizer into ``root/models``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<unk>", "<pad>", "<s>", "</s>"]
    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    bpe = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=specials,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator([row["text"] for row in text_rows(1)] * 8, trainer=bpe)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    folder = root / MODEL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
