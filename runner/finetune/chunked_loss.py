"""The SFT loss in chunks of tokens, so that only one chunk's logits exist at a time.

TRL 1.16's ``SFTTrainer`` already never builds the ``(batch, sequence, vocabulary)`` logits:
it patches the model with a fused LM head (``trl.trainer.utils.add_fused_lm_head``) that
scores tiles of up to 4,096 tokens x 32,768 vocabulary entries. On a GPU those tiles go
through Triton kernels that work in place. Without Triton (the CPU) the same tiles go
through plain torch ops, each of which allocates a tile-sized float32 temporary, so on a
CPU that head held more memory than the plain loss over the full logits (measured in
``bench/TRAINING.md``).

Where TRL has no Triton, :func:`install` puts a head of our own in front of TRL's: the
model's body gives hidden states, the positions whose label is not -100 are taken in
chunks of :data:`CHUNK_TOKENS`, and for each chunk the output projection and
cross-entropy run under ``torch.utils.checkpoint``, so one chunk's logits exist in the
forward pass and again, recomputed, in the backward pass. It returns what TRL's fused
forward returns (per-token log-probabilities, entropy, whether the label was the top
token, the label mask, the loss), so ``SFTTrainer.compute_loss`` and its metrics and its
``num_items_in_batch`` normalisation run unchanged.

Models whose head does more than a linear layer (logit scaling, soft-capping, router
losses, vision-language wrappers) and GPUs keep TRL's head. ``COMPOSE_CHUNKED_LOSS=0``
turns ours off.
"""

from __future__ import annotations

import functools
from typing import Any

from compose.envvars import EnvError, env_bool
from runner.finetune.errors import ConfigProblem

# 256 tokens x a 49,152-entry vocabulary (SmolLM2) is 48 MiB of float32 logits per chunk.
CHUNK_TOKENS = 256

# Config fields that change the logits beyond ``hidden @ weight.T + bias``.
_HEAD_EXTRAS = ("final_logit_softcapping", "logit_scale", "output_multiplier", "lm_head_multiplier", "logits_scaling")


def allowed() -> bool:
    """``COMPOSE_CHUNKED_LOSS``: unset or on uses the chunked head; 0 / false / no / off
    leaves TRL's head alone; anything else fails the job before it loads, naming it."""
    try:
        return env_bool("COMPOSE_CHUNKED_LOSS", True)
    except EnvError as exc:
        raise ConfigProblem("COMPOSE_CHUNKED_LOSS", f"the worker's environment: {exc}") from None


def _chunk(hidden: Any, weight: Any, bias: Any, targets: Any) -> tuple[Any, Any, Any]:
    """(log-probability of each target, entropy, target is the top token) for one chunk."""
    import torch
    import torch.nn.functional as F

    logits = F.linear(hidden, weight, bias).float()
    log_z = torch.logsumexp(logits, dim=-1)
    log_probs = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - log_z
    with torch.no_grad():  # metrics only
        entropy = log_z - (torch.softmax(logits, dim=-1) * logits).sum(-1)
        is_top1 = logits.argmax(-1) == targets
    return log_probs, entropy, is_top1


def chunked_log_probs(
    hidden: Any, weight: Any, bias: Any, targets: Any, chunk_tokens: int | None = None
) -> tuple[Any, Any, Any]:
    """:func:`_chunk` over ``hidden`` (N, H) and ``targets`` (N,) in checkpointed chunks of rows
    (default :data:`CHUNK_TOKENS`)."""
    import torch
    from torch.utils.checkpoint import checkpoint

    chunk_tokens = chunk_tokens or CHUNK_TOKENS

    if hidden.shape[0] == 0:
        # Keeps the output connected to the graph: an all-masked batch backpropagates a zero.
        empty = hidden.sum(-1)
        return empty, empty.detach(), torch.zeros_like(targets, dtype=torch.bool)
    parts = [
        checkpoint(
            _chunk, hidden[i : i + chunk_tokens], weight, bias, targets[i : i + chunk_tokens], use_reentrant=False
        )
        for i in range(0, hidden.shape[0], chunk_tokens)
    ]
    log_probs, entropy, is_top1 = zip(*parts, strict=True)
    return torch.cat(log_probs), torch.cat(entropy), torch.cat(is_top1)


def _plain_head(model: Any) -> bool:
    config = model.config
    return (
        config.get_text_config() is config
        and all(getattr(config, name, None) in (None, 1.0) for name in _HEAD_EXTRAS)
        and not getattr(config, "output_router_logits", False)
        and model.get_output_embeddings() is not None
    )


def install(model: Any) -> bool:
    """Put the chunked head in front of TRL's fused head on ``model`` (the trainer's model,
    PEFT-wrapped or not). Returns whether it did; call after ``SFTTrainer`` patched the model."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if not _plain_head(base):
        return False
    trl_forward = base.forward

    @functools.wraps(trl_forward)
    def forward(
        *args: Any,
        fused_lm_head: bool = False,
        labels: Any = None,
        shift_labels: Any = None,
        num_items_in_batch: Any = None,
        **kwargs: Any,
    ) -> Any:
        from trl.trainer.utils import FusedCausalLMOutput

        head = base.get_output_embeddings()
        if (
            not fused_lm_head
            or shift_labels is not None
            or kwargs.get("output_router_logits")
            or head.weight.device.type in ("cuda", "xpu")  # TRL's Triton tiles work in place there
        ):
            return trl_forward(
                *args,
                fused_lm_head=fused_lm_head,
                labels=labels,
                shift_labels=shift_labels,
                num_items_in_batch=num_items_in_batch,
                **kwargs,
            )
        kwargs["use_cache"] = False
        hidden = base.base_model(*args, **kwargs).last_hidden_state
        hidden = hidden[:, :-1].to(head.weight.device)
        labels = labels[:, 1:].to(head.weight.device)
        mask = labels != -100
        per_token = chunked_log_probs(hidden[mask], head.weight, head.bias, labels[mask])
        log_probs, entropy, is_top1 = (x.new_zeros(mask.shape).masked_scatter(mask, x) for x in per_token)
        count = mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
        return FusedCausalLMOutput(
            loss=-log_probs.sum() / count, log_probs=log_probs, entropy=entropy, is_top1=is_top1, label_mask=mask
        )

    forward.compose_chunked_loss = True  # type: ignore[attr-defined]
    base.forward = forward
    return True


def installed(model: Any) -> bool:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return getattr(base.forward, "compose_chunked_loss", False)
