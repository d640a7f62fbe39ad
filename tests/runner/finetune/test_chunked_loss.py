"""The SFT loss is computed without the full ``(batch, sequence, vocabulary)`` logits, and
equals the plain loss.

TRL 1.16's ``SFTTrainer`` patches the model with a fused LM head (``trl.trainer.utils.
add_fused_lm_head``) that scores tiles of tokens x vocabulary; on a CPU the runner puts its
chunked head (``runner.finetune.chunked_loss``) in front of it, and ``COMPOSE_CHUNKED_LOSS=0``
keeps TRL's. These tests pin, for both heads as the runner builds them: the loss and its
gradients are those of the plain cross-entropy over the full logits (label masking, padding,
packing, the shift by one, and the token count across accumulated micro-batches), and a
training step never calls the output layer on the whole sequence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import data
from tests.fixtures.training import losses, run_trainer, trainer_spec

pytestmark = pytest.mark.slow

LOSS_TOLERANCE = 1e-5
GRAD_TOLERANCE = 1e-4


def runner_trainer(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch, rows: Any, *, chunked: bool = True, **fields: Any
) -> Any:
    """The SFT trainer the runner builds, after one optimizer step. ``chunked``: the chunked
    head, in chunks of 7 tokens so that every batch spans several; else TRL's fused head."""
    from runner.finetune import chunked_loss, trainers

    monkeypatch.setattr(chunked_loss, "CHUNK_TOKENS", 7)
    monkeypatch.setenv("COMPOSE_CHUNKED_LOSS", "1" if chunked else "0")

    built: list[Any] = []
    build_sft = trainers.build_sft

    def keep(inputs: trainers.Inputs) -> trainers.Prepared:
        prepared = build_sft(inputs)
        built.append(prepared.trainer)
        return prepared

    monkeypatch.setattr(trainers, "build_sft", keep)
    monkeypatch.setenv("COMPOSE_LIGER_KERNEL", "0")
    fields.setdefault("per_device_train_batch_size", 4)
    spec = trainer_spec(
        tmp_path, model_dir, rows, max_steps=1, max_seq_length=48, save_steps=None, logging_steps=1, seed=3, **fields
    )
    run_trainer(spec)
    return built[0]


def plain_loss_sum(model: Any, batch: dict[str, Any]) -> tuple[Any, int]:
    """Cross-entropy summed over the shifted, unmasked labels, from the full logits, and their count."""
    import torch

    inputs = {k: v for k, v in batch.items() if k not in ("labels", "shift_labels")}
    logits = model(**inputs, use_cache=False).logits  # the model's own forward: full logits
    labels = batch["labels"][:, 1:]
    logits = logits[:, :-1]
    total = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.size(-1)).float(), labels.reshape(-1), ignore_index=-100, reduction="sum"
    )
    return total, int((labels != -100).sum())


def trainable(model: Any) -> list[Any]:
    return [p for p in model.parameters() if p.requires_grad]


def compare(trainer: Any, micro_batches: int) -> tuple[float, float]:
    """(loss difference, largest gradient difference) between the trainer's loss and the plain
    one over ``micro_batches`` micro-batches, normalised as gradient accumulation does: by the
    count of trained tokens in all of them (``num_items_in_batch``)."""
    import torch

    model = trainer.model
    model.train()
    loader = iter(trainer.get_train_dataloader())
    batches = [trainer._prepare_inputs(next(loader)) for _ in range(micro_batches)]
    count = sum(int((b["labels"][:, 1:] != -100).sum()) for b in batches)
    assert count > 0
    params = trainable(model)

    ours = sum(trainer.compute_loss(model, dict(b), num_items_in_batch=torch.tensor(count)) for b in batches)
    ours_grads = torch.autograd.grad(ours, params)
    plain = sum(plain_loss_sum(model, b)[0] for b in batches) / count
    plain_grads = torch.autograd.grad(plain, params)

    loss_diff = abs(float(ours.detach()) - float(plain.detach()))
    grad_diff = max(float((a - b).abs().max()) for a, b in zip(ours_grads, plain_grads, strict=True))
    return loss_diff, grad_diff


def uses_chunked_head(trainer: Any) -> bool:
    from runner.finetune import chunked_loss

    return chunked_loss.installed(trainer.model)


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "trl-head"])
@pytest.mark.parametrize("accumulation", [1, 2])
@pytest.mark.parametrize(
    "rows, fields",
    [
        (data.prompt_response_rows(16), {"prompt_column": "prompt", "response_column": "response"}),
        (data.text_rows(16), {"text_column": "text"}),
        (data.text_rows(16), {"text_column": "text", "packing": True}),
    ],
    ids=["prompt-response", "text", "packed"],
)
def test_loss_and_gradients_equal_the_plain_loss(
    tmp_path: Path,
    tiny_causal_lm_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    rows: Any,
    fields: Any,
    accumulation: int,
    chunked: bool,
) -> None:
    """With the chunked head (on the CPU: the runner's default) and with TRL's (the switch off)."""
    trainer = runner_trainer(
        tmp_path,
        tiny_causal_lm_dir,
        monkeypatch,
        rows,
        chunked=chunked,
        gradient_accumulation_steps=accumulation,
        **fields,
    )
    assert uses_chunked_head(trainer) == chunked
    loss_diff, grad_diff = compare(trainer, accumulation)
    print(f"loss diff {loss_diff:.2e}, largest gradient diff {grad_diff:.2e}")
    assert loss_diff <= LOSS_TOLERANCE
    assert grad_diff <= GRAD_TOLERANCE


def test_prompt_tokens_carry_no_loss(tmp_path: Path, tiny_causal_lm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Prompt/response rows: the labels the loss reads are -100 on the prompt, so the count is
    the response tokens only (else the comparison above would hold trivially for text rows)."""
    trainer = runner_trainer(
        tmp_path,
        tiny_causal_lm_dir,
        monkeypatch,
        data.prompt_response_rows(16),
        prompt_column="prompt",
        response_column="response",
    )
    batch = next(iter(trainer.get_train_dataloader()))
    labels, mask = batch["labels"], batch["attention_mask"]
    assert 0 < int((labels != -100).sum()) < int(mask.sum())


def test_a_training_step_never_builds_the_full_logits(
    tmp_path: Path, tiny_causal_lm_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output layer is never called as a module during training: the chunked head reads
    its weight chunk by chunk. (Its forward would return the ``(batch, sequence, vocabulary)``
    logits.)"""
    import torch

    trainer = runner_trainer(tmp_path, tiny_causal_lm_dir, monkeypatch, data.text_rows(8), text_column="text")
    head = trainer.model.get_output_embeddings()
    calls: list[tuple[int, ...]] = []
    handle = head.register_forward_hook(lambda module, args, out: calls.append(tuple(out.shape)))
    try:
        batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
        trainer.model.train()
        trainer.training_step(trainer.model, batch, torch.tensor(int((batch["labels"][:, 1:] != -100).sum())))
        assert calls == []
        # The hook does see a plain forward, so an empty list above means something.
        trainer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        assert calls and calls[0][-1] == head.weight.shape[0]
    finally:
        handle.remove()


def test_lora_gradients_equal_the_plain_loss(
    tmp_path: Path, tiny_causal_lm_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a PEFT wrapper: the head is put on the wrapped model, the adapter gets the gradients."""
    trainer = runner_trainer(
        tmp_path,
        tiny_causal_lm_dir,
        monkeypatch,
        data.prompt_response_rows(16),
        prompt_column="prompt",
        response_column="response",
        peft_adapter="lora",
        lora_r=4,
        lora_dropout=0.0,  # two forward passes in train mode must see the same network
    )
    assert uses_chunked_head(trainer)
    loss_diff, grad_diff = compare(trainer, 1)
    assert loss_diff <= LOSS_TOLERANCE
    assert grad_diff <= GRAD_TOLERANCE


def test_the_loss_curve_is_the_same_with_the_switch_off(
    tmp_path: Path, tiny_causal_lm_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner.finetune import chunked_loss

    monkeypatch.setattr(chunked_loss, "CHUNK_TOKENS", 7)
    curves = []
    for switch in ("1", "0"):
        monkeypatch.setenv("COMPOSE_CHUNKED_LOSS", switch)
        spec = trainer_spec(
            tmp_path / switch,
            tiny_causal_lm_dir,
            data.prompt_response_rows(16),
            prompt_column="prompt",
            response_column="response",
            max_steps=6,
            per_device_train_batch_size=4,
            gradient_accumulation_steps=2,
            max_seq_length=48,
            save_steps=None,
            logging_steps=1,
            seed=3,
            learning_rate=1e-3,
        )
        _, events = run_trainer(spec)
        curves.append(losses(events))
    assert len(curves[0]) == 6
    assert [step for step, _ in curves[0]] == [step for step, _ in curves[1]]
    assert [loss for _, loss in curves[0]] == pytest.approx([loss for _, loss in curves[1]], abs=1e-4)


def test_a_bad_switch_value_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.finetune import chunked_loss
    from runner.finetune.errors import ConfigProblem

    monkeypatch.setenv("COMPOSE_CHUNKED_LOSS", "maybe")
    with pytest.raises(ConfigProblem, match="COMPOSE_CHUNKED_LOSS"):
        chunked_loss.allowed()


def test_chunks_with_a_bias_and_with_nothing_to_train() -> None:
    """Any chunk size gives the full-logits log-probabilities (here with a head bias); a batch
    whose labels are all -100 gives a zero loss that still backpropagates."""
    import torch

    from runner.finetune import chunked_loss

    torch.manual_seed(0)
    hidden = torch.randn(11, 8, requires_grad=True)
    weight, bias = torch.randn(30, 8), torch.randn(30)
    targets = torch.randint(0, 30, (11,))
    expected = torch.log_softmax(hidden @ weight.T + bias, -1).gather(-1, targets[:, None]).squeeze(-1)
    for chunk in (1, 4, 11, 64):
        log_probs, entropy, is_top1 = chunked_loss.chunked_log_probs(hidden, weight, bias, targets, chunk)
        assert torch.allclose(log_probs, expected, atol=1e-6)
        assert entropy.shape == is_top1.shape == targets.shape

    log_probs, _, _ = chunked_loss.chunked_log_probs(hidden[:0], weight, bias, targets[:0])
    loss = -log_probs.sum() / 1
    loss.backward()
    assert float(loss) == 0.0 and hidden.grad is not None
