"""The baseline: a plain, hand-written TRL ``SFTTrainer`` script, no compose-web code.

It trains exactly what the runner is asked to train in the benchmarks (same model,
rows, chat rendering, completion-only loss, batch, steps, optimizer, precision), so the
difference in speed and memory is what the runner adds or saves. It logs as the runner
does, too: TensorBoard event files written by the library's writer (here transformers' own
TensorBoard callback), so neither side's numbers leave that cost out.

    python -m bench.gpu.plain_sft settings.json     # prints one JSON line
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from bench.gpu.harness import current_rss_bytes
from bench.gpu.settings import BenchSettings


def sft_config(s: BenchSettings, cuda: bool):
    """The training settings, written out as a TRL user would."""
    from trl import SFTConfig

    return SFTConfig(
        output_dir=s.output_dir,
        num_train_epochs=1,
        max_steps=-1,
        per_device_train_batch_size=s.batch_size,
        gradient_accumulation_steps=s.grad_accum,
        learning_rate=s.learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=0,
        max_length=s.max_length,
        packing=s.packing,
        completion_only_loss=True,
        optim=s.optimizer,
        bf16=s.bf16,
        use_cpu=not cuda,
        gradient_checkpointing=s.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if s.gradient_checkpointing else None,
        use_liger_kernel=s.liger,
        logging_steps=s.logging_steps,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=s.seed,
        data_seed=s.seed,
    )


def train(s: BenchSettings) -> dict[str, Any]:
    """Train once; return the train-loop time, the steps done and the final loss."""
    import torch
    from datasets import load_from_disk
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, TrainerCallback
    from transformers.integrations import TensorBoardCallback
    from trl import SFTTrainer

    cuda = torch.cuda.is_available()
    rows = load_from_disk(s.data_dir)
    rows = rows.map(
        lambda r: {
            "prompt": [{"role": "user", "content": r["prompt"]}],
            "completion": [{"role": "assistant", "content": r["response"]}],
        },
        remove_columns=rows.column_names,
    )

    # The weights' stored dtype, as TRL's own sft script and the runner load them.
    model_kwargs: dict[str, Any] = {"dtype": "auto"}
    if s.quantization == "nf4":
        model_kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.bfloat16 if s.bf16 else torch.float32,
            bnb_4bit_use_double_quant=True,
        )
    model = AutoModelForCausalLM.from_pretrained(s.model, **model_kwargs)
    tokenizer = AutoTokenizer.from_pretrained(s.model)

    peft_config = None
    if s.lora_r:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=s.lora_r,
            lora_alpha=2 * s.lora_r,
            lora_dropout=0.05,
            target_modules=list(s.lora_target_modules),
            task_type="CAUSAL_LM",
        )

    class StepTimer(TrainerCallback):
        """Times the training loop only, as the runner's progress events do."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.monotonic()
            self.rss_at_start = current_rss_bytes()

        def on_step_end(self, args, state, control, **kwargs):
            self.ended = time.monotonic()

    timer = StepTimer()
    args = sft_config(s, cuda)
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=rows,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[timer, TensorBoardCallback()],
    )
    result = trainer.train()
    trainer.save_model()
    return {
        "train_s": timer.ended - timer.started,
        "steps": trainer.state.global_step,
        "rss_at_train_start_bytes": timer.rss_at_start,
        "loss": result.training_loss,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    settings = BenchSettings.read(argv[0])
    print(json.dumps(train(settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
