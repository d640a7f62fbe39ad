"""The trainer snippets of the user's document (seed §9.3-9.8) run as written.

Each snippet is the document's YAML; the test only points ``model`` at the tiny local
model, binds ``dataset``/``eval_dataset`` to a small saved data set, and caps the steps.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compose.jobspec import JobSpec
from compose.schema.components import TrainerComponent
from tests.fixtures import data
from tests.fixtures.training import run_trainer, save_dataset

pytestmark = pytest.mark.slow

SNIPPETS = {
    "9.3.1-basic": """
    task: sft
    dataset: ${input.dataset}
    learning_rate: 5e-5
    per_device_train_batch_size: 8
    per_device_eval_batch_size: 8
    num_epochs: 3
    output_dir: ./output/model
    """,
    "9.3.2-optimizer": "task: sft\noptimizer: adamw_torch\n",
    "9.3.3-scheduler": "task: sft\nlr_scheduler_type: linear\nwarmup_steps: 100\n",
    "9.3.4-optimization": "task: sft\nweight_decay: 0.01\nmax_grad_norm: 1.0\ngradient_accumulation_steps: 4\n",
    "9.3.5-eval-save": """
    task: sft
    eval_steps: 500
    eval_dataset: ${input.eval_dataset}
    save_steps: 500
    logging_steps: 10
    """,
    "9.3.6-fp16": "task: sft\ngradient_checkpointing: true\nfp16: true\n",
    "9.3.6-bf16": "task: sft\ngradient_checkpointing: true\nbf16: true\n",
    "9.3.7-seed": "task: sft\nseed: 42\n",
    "9.4.1-text": """
    task: sft
    dataset: ${input.dataset}
    eval_dataset: ${input.eval_dataset}
    text_column: text
    max_seq_length: 512
    learning_rate: 5e-5
    num_epochs: 3
    per_device_train_batch_size: 4
    output_dir: ./output/sft-model
    """,
    "9.4.1-prompt-response": """
    task: sft
    dataset: ${input.dataset}
    prompt_column: prompt
    response_column: response
    system_column: system
    max_seq_length: 1024
    """,
    "9.4.2-packing": "task: sft\ndataset: ${input.dataset}\ntext_column: text\npacking: true\nmax_seq_length: 512\n",
    "9.5.2-lora": """
    task: sft
    peft_adapter: lora
    lora_r: 8
    lora_alpha: 16
    lora_dropout: 0.05
    dataset: ${input.dataset}
    learning_rate: 1e-4
    num_epochs: 3
    output_dir: ./output/lora-adapter
    """,
    "9.5.3-targets": """
    task: sft
    peft_adapter: lora
    lora_target_modules: [q_proj, v_proj, k_proj, o_proj]
    lora_r: 16
    lora_alpha: 32
    """,
    "9.5.4-bias": "task: sft\npeft_adapter: lora\nlora_bias: none\n",
    "9.5.5-qlora": """
    task: sft
    peft_adapter: lora
    lora_r: 64
    lora_alpha: 16
    quantization: nf4
    bnb_4bit_compute_dtype: bfloat16
    bnb_4bit_use_double_quant: true
    dataset: ${input.dataset}
    learning_rate: 2e-4
    num_epochs: 1
    per_device_train_batch_size: 4
    gradient_accumulation_steps: 4
    gradient_checkpointing: true
    bf16: true
    """,
    "9.6.1-logging": "task: sft\nlogging_steps: 10\neval_steps: 100\n",
    "9.7.1-checkpoints": "task: sft\noutput_dir: ./output/checkpoints\nsave_steps: 500\n",
    "9.8.1-alpaca": """
    task: sft
    peft_adapter: lora
    lora_r: 16
    lora_alpha: 32
    lora_dropout: 0.05
    lora_target_modules: [q_proj, v_proj]
    dataset: ${input.dataset}
    prompt_column: instruction
    response_column: output
    max_seq_length: 512
    learning_rate: 1e-4
    num_epochs: 3
    per_device_train_batch_size: 4
    gradient_accumulation_steps: 4
    gradient_checkpointing: true
    fp16: true
    output_dir: ./output/alpaca-lora
    """,
    "9.8.2-qlora": """
    task: sft
    peft_adapter: lora
    lora_r: 64
    lora_alpha: 16
    quantization: nf4
    bnb_4bit_compute_dtype: bfloat16
    dataset: ${input.dataset}
    text_column: text
    max_seq_length: 2048
    packing: true
    learning_rate: 2e-4
    num_epochs: 1
    per_device_train_batch_size: 1
    gradient_accumulation_steps: 16
    optimizer: adamw_8bit
    gradient_checkpointing: true
    bf16: true
    output_dir: ./output/qlora-model
    """,
    "9.8.3-custom": """
    task: sft
    peft_adapter: lora
    lora_r: 8
    lora_alpha: 16
    dataset: ${input.dataset}
    prompt_column: user_input
    response_column: assistant_response
    learning_rate: 5e-5
    num_epochs: 5
    per_device_train_batch_size: 8
    output_dir: ./output/custom-model
    """,
}


def _rows_for(fields: dict) -> list[dict]:
    prompt = fields.get("prompt_column")
    if prompt == "instruction":
        return data.instruction_rows(16)
    if prompt == "user_input":
        return [{"user_input": r["prompt"], "assistant_response": r["response"]} for r in data.prompt_response_rows(16)]
    if prompt:
        return data.system_prompt_response_rows(16)
    return data.text_rows(16)


@pytest.mark.parametrize("name", list(SNIPPETS))
def test_seed_snippet_runs(tmp_path: Path, tiny_causal_lm_dir: Path, name: str) -> None:
    import textwrap

    fields = yaml.safe_load(textwrap.dedent(SNIPPETS[name]))
    storage = tmp_path / "storage"
    rows = _rows_for(fields)
    # What the engine does: bind the ${input.*} data sets, fill the workspace's base model.
    fields["dataset"] = save_dataset(storage, rows)
    if "eval_dataset" in fields or "eval_steps" in fields:
        fields["eval_dataset"] = save_dataset(storage, rows[:4])
    fields.update(id="trainer", model=str(tiny_causal_lm_dir), max_steps=2)
    config = TrainerComponent.model_validate(fields).model_dump(mode="json")
    spec = JobSpec(run_id="r", job_id="train", component_id="trainer", component_type="model-trainer",
                   method="train", config=config, base_dir=str(tmp_path), storage_dir=str(storage))

    output, seen = run_trainer(spec)

    assert output["global_step"] == 2
    out = Path(output["output_dir"])
    assert out == (tmp_path / fields.get("output_dir", "./output")).resolve()
    assert (out / ("adapter_config.json" if fields.get("peft_adapter") else "config.json")).is_file()
    assert (out / "compose-config.json").is_file()
    if "eval_dataset" in fields:
        assert "eval_loss" in output["metrics"] and "perplexity" in output["metrics"]
