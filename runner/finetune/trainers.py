"""Building the trainer for each task: TRL's SFTTrainer, or transformers' Trainer for classification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compose.schema.components import TrainerComponent
from runner.finetune import args as trainer_args
from runner.finetune import chunked_loss, data, optimizers
from runner.finetune import model as model_lib
from runner.finetune.callbacks import GradNormMeter, counting_trainer


@dataclass
class Prepared:
    """Everything the job needs from the task-specific setup."""

    trainer: Any
    adapter: bool
    notes: list[str]
    labels: list[str] | None = None  # classification: label names, class 0 first


@dataclass
class Inputs:
    cfg: TrainerComponent
    source: model_lib.ModelSource
    tokenizer: Any
    train: Any
    eval: Any | None
    output_dir: str
    hw: trainer_args.Hardware
    token: str | None
    callbacks: list[Any]


def _finish_model(model: Any, inputs: Inputs) -> tuple[Any, list[str] | None]:
    """Optimizer target modules (GaLore/APOLLO) and the LoRA adapter."""
    cfg = inputs.cfg
    targets = cfg.optim_target_modules
    if optimizers.needs_target_modules(cfg.optimizer) and not targets:
        targets = optimizers.default_target_modules(model)
    if cfg.peft_adapter == "lora":
        model = model_lib.apply_lora(model, cfg)
    return model, targets


def _finish_trainer(trainer: Any, inputs: Inputs) -> list[str]:
    """What the trainer's own arguments cannot say: fp16 on CPU, LOMO's gradient norm.
    Returns log lines."""
    notes = []
    if trainer_args.enable_cpu_fp16(trainer, inputs.cfg, inputs.hw):
        notes.append("fp16 without a CUDA GPU: training under float16 autocast on CPU (with a gradient scaler)")
    if inputs.cfg.optimizer == "lomo":
        trainer.grad_meter = GradNormMeter(trainer.model)
    return notes


def _common(inputs: Inputs, targets: list[str] | None) -> dict[str, Any]:
    return {
        "output_dir": inputs.output_dir,
        "has_eval": inputs.eval is not None,
        "hw": inputs.hw,
        "target_modules": targets,
    }


def build_sft(inputs: Inputs) -> Prepared:
    from trl import SFTTrainer

    cfg, tokenizer = inputs.cfg, inputs.tokenizer
    notes: list[str] = []
    prompt_completion = cfg.effective_text_column is None
    conversational = bool(getattr(tokenizer, "chat_template", None))
    if prompt_completion and not conversational:
        notes.append(
            "the tokenizer has no chat template: prompt/response rows are rendered as plain text "
            "(### Instruction / ### Response); set chat_template to use a chat format"
        )
    train = data.sft_rows(inputs.train, cfg, conversational=conversational)
    eval_ = (
        data.sft_rows(inputs.eval, cfg, conversational=conversational, which="eval")
        if inputs.eval is not None
        else None
    )

    model = model_lib.load_model(cfg, inputs.source, inputs.token)
    model, targets = _finish_model(model, inputs)
    config = trainer_args.sft_config(
        cfg, text_field="text", prompt_completion=prompt_completion, **_common(inputs, targets)
    )
    trainer = counting_trainer(SFTTrainer)(
        model=model,
        args=config,
        train_dataset=train,
        eval_dataset=eval_,
        processing_class=tokenizer,
        callbacks=inputs.callbacks,
    )
    if not inputs.hw.cuda and chunked_loss.allowed() and chunked_loss.install(trainer.model):
        notes.append(
            f"loss computed in chunks of {chunked_loss.CHUNK_TOKENS} tokens (COMPOSE_CHUNKED_LOSS=0 turns it off)"
        )
    notes += _finish_trainer(trainer, inputs)
    return Prepared(trainer, cfg.peft_adapter == "lora", notes)


def classification_metrics(prediction: Any) -> dict[str, float]:
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
    predicted = np.argmax(logits, axis=-1)
    labels = prediction.label_ids
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "f1": float(f1_score(labels, predicted, average="macro")),
    }


def build_classification(inputs: Inputs) -> Prepared:
    from transformers import DataCollatorWithPadding, Trainer

    cfg, tokenizer = inputs.cfg, inputs.tokenizer
    id2label, label2id = data.label_maps(inputs.train, inputs.eval, cfg.label_column)
    train = data.classification_rows(inputs.train, cfg, tokenizer, label2id)
    eval_ = (
        data.classification_rows(inputs.eval, cfg, tokenizer, label2id, which="eval")
        if inputs.eval is not None
        else None
    )

    model = model_lib.load_model(
        cfg,
        inputs.source,
        inputs.token,
        num_labels=len(id2label),
        id2label=id2label,
        label2id=label2id,
        ignore_mismatched_sizes=True,
    )
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    model, targets = _finish_model(model, inputs)
    config = trainer_args.training_arguments(cfg, **_common(inputs, targets))
    trainer = counting_trainer(Trainer)(
        model=model,
        args=config,
        train_dataset=train,
        eval_dataset=eval_,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=classification_metrics,
        callbacks=inputs.callbacks,
    )
    notes = [f"{len(id2label)} labels: {', '.join(id2label.values())}"]
    notes += _finish_trainer(trainer, inputs)
    return Prepared(trainer, cfg.peft_adapter == "lora", notes, labels=list(id2label.values()))
