"""The ``model-trainer`` component's form layout, grouped as the seed's sections are."""
from __future__ import annotations

from compose.schema.components import TrainerComponent

from .schema_fields import FieldGroup, grouped, model_field_specs

TRAINER_LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Task and model", ("task", "model", "tokenizer", "chat_template")),
    ("Data set", ("dataset", "eval_dataset", "text_column", "prompt_column", "response_column",
                  "system_column", "text_pair_column", "label_column", "max_seq_length", "packing")),
    ("Learning rate and batch", ("learning_rate", "per_device_train_batch_size",
                                 "per_device_eval_batch_size", "num_epochs", "max_steps")),
    ("Optimizer", ("optimizer", "optimizer_args", "optim_target_modules", "weight_decay",
                   "max_grad_norm", "gradient_accumulation_steps")),
    ("Scheduler", ("lr_scheduler_type", "lr_scheduler_kwargs", "warmup_steps")),
    ("Evaluation and saving", ("eval_steps", "save_steps", "logging_steps", "output_dir",
                               "resume_from_checkpoint")),
    ("Memory", ("gradient_checkpointing", "fp16", "bf16")),
    ("Reproducibility", ("seed",)),
    ("LoRA", ("peft_adapter", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "lora_bias")),
    ("Quantization (QLoRA)", ("quantization", "bnb_4bit_compute_dtype", "bnb_4bit_use_double_quant")),
    ("Processes", ("resources.gpus", "resources.launcher", "resources.processes")),
)

# Used where the schema field carries no description of its own.
TRAINER_HELP: dict[str, str] = {
    "id": "The component's id; jobs name it in component:.",
    "type": "Always model-trainer.",
    "task": "sft trains a causal language model on text or prompt/response rows; "
            "classification trains a sequence classifier on text + label rows.",
    "model": "Base model: a hub id or a folder under the workspace. Empty: the workspace's default "
             "model for the task.",
    "tokenizer": "Tokenizer to load when it differs from the model's.",
    "chat_template": "Jinja chat template used to render prompt/response rows (SFT).",
    "dataset": "Training data: usually a binding such as ${input.dataset} or ${jobs.prepare.output}.",
    "eval_dataset": "Optional evaluation data; enables eval loss, perplexity, accuracy and F1.",
    "text_column": "Column holding the whole text (SFT), or the text to classify (default: text).",
    "prompt_column": "SFT: column with the prompt; the loss is computed on the response only.",
    "response_column": "SFT: column with the expected response.",
    "system_column": "SFT: optional column with a system message.",
    "text_pair_column": "Classification: optional second text column (sentence pairs).",
    "label_column": "Classification: column holding the label.",
    "max_seq_length": "Longest sequence in tokens; longer rows are truncated.",
    "packing": "SFT: pack several short rows into one sequence.",
    "learning_rate": "Peak learning rate, e.g. 5e-5 (full fine-tune) or 2e-4 (LoRA).",
    "per_device_train_batch_size": "Training rows per step on each device.",
    "per_device_eval_batch_size": "Evaluation rows per step on each device.",
    "num_epochs": "Passes over the training data.",
    "max_steps": "When > 0, stop after this many optimizer steps (overrides num_epochs).",
    "optimizer": "Optimizer name (adamw_torch is a safe default; 8-bit variants save memory).",
    "optimizer_args": "Extra optimizer arguments as a mapping, e.g. {betas: [0.9, 0.95]}.",
    "optim_target_modules": "GaLore/APOLLO: module names the optimizer projects "
                            "(default: attention and MLP).",
    "weight_decay": "L2 weight decay applied by the optimizer.",
    "max_grad_norm": "Gradients are clipped to this norm (0 turns clipping off).",
    "gradient_accumulation_steps": "Accumulate gradients over this many steps before an update.",
    "lr_scheduler_type": "How the learning rate changes over training.",
    "lr_scheduler_kwargs": "Scheduler arguments, e.g. {min_lr_rate: 0.1} for cosine_with_min_lr.",
    "warmup_steps": "Steps of linear warm-up from 0 to the learning rate.",
    "eval_steps": "Evaluate every N steps (needs eval_dataset). Empty: at the end of each epoch.",
    "save_steps": "Save a checkpoint every N steps.",
    "logging_steps": "Report loss, learning rate and throughput every N steps.",
    "output_dir": "Folder (under the workspace) for checkpoints and the final model.",
    "resume_from_checkpoint": "A checkpoint folder, or latest to continue from the newest one.",
    "gradient_checkpointing": "Trade compute for memory by recomputing activations.",
    "fp16": "Mixed precision in float16 (GPU).",
    "bf16": "Mixed precision in bfloat16.",
    "seed": "Random seed for shuffling and initialisation.",
    "peft_adapter": "lora trains a small adapter instead of every weight.",
    "lora_r": "Adapter rank (default 8 with LoRA).",
    "lora_alpha": "Adapter scaling (default 16 with LoRA).",
    "lora_dropout": "Dropout on the adapter inputs (default 0.05).",
    "lora_target_modules": "Module names to adapt, e.g. q_proj, v_proj; empty: the model's attention.",
    "lora_bias": "Which biases to train alongside the adapter.",
    "quantization": "Load the base model in 4 or 8 bits (needs LoRA: QLoRA).",
    "bnb_4bit_compute_dtype": "4-bit only: dtype the matmuls run in.",
    "bnb_4bit_use_double_quant": "4-bit only: quantize the quantization constants too.",
    "resources.gpus": "GPUs for this job (0: CPU).",
    "resources.launcher": "How several processes start: torchrun or accelerate.",
    "resources.processes": "Processes when no GPU is asked for (CPU data parallel).",
}

READ_ONLY = ("id", "type")


def trainer_groups() -> list[FieldGroup]:
    specs = model_field_specs(TrainerComponent, TRAINER_HELP)
    for name in READ_ONLY:
        specs.pop(name, None)
    return grouped(specs, TRAINER_LAYOUT)
