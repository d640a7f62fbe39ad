"""Answering a batch of inputs: generation (plain or chat) and classification."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compose.jobspec import JobFailed
from compose.schema.components import ModelComponent
from runner.inference.loading import Loaded


@dataclass
class Encoded:
    inputs: Any
    truncated: int = 0  # how many inputs were cut to max_seq_length


def generation_kwargs(cfg: ModelComponent) -> dict[str, Any]:
    """What ``generate`` is called with; the sampling settings only when sampling."""
    kwargs: dict[str, Any] = {
        "max_new_tokens": cfg.max_output_length,
        "do_sample": cfg.do_sample,
        "num_beams": cfg.num_beams,
        "num_return_sequences": cfg.num_return_sequences,
    }
    if cfg.do_sample:
        kwargs.update(temperature=cfg.temperature, top_p=cfg.top_p, top_k=cfg.top_k)
    else:
        # The model's generation_config may carry sampling defaults; greedy must not warn about them.
        kwargs.update(temperature=None, top_p=None, top_k=None)
    if cfg.stop_sequences:
        kwargs["stop_strings"] = list(cfg.stop_sequences)
    return kwargs


def encode(
    loaded: Loaded, texts: list[str], max_length: int, *, special_tokens: bool = True, left: bool = True
) -> Encoded:
    """Tokenize a batch, cutting each input to ``max_length`` tokens (a prompt keeps its end,
    which the answer follows)."""
    tokenizer = loaded.tokenizer
    tokenizer.padding_side = "left" if left else "right"
    tokenizer.truncation_side = "left" if left else "right"
    full = tokenizer(texts, add_special_tokens=special_tokens)["input_ids"]
    truncated = sum(1 for ids in full if len(ids) > max_length)
    batch = tokenizer(
        texts,
        add_special_tokens=special_tokens,
        padding=True,
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )
    return Encoded({k: v.to(loaded.model.device) for k, v in batch.items()}, truncated)


def chat_prompts(loaded: Loaded, conversations: list[list[dict[str, Any]]]) -> list[str]:
    tokenizer = loaded.tokenizer
    if not getattr(tokenizer, "chat_template", None):
        raise JobFailed(
            "task chat-completion needs a tokenizer with a chat template; this model has none "
            "(use task: text-generation with a prompt)"
        )
    return [
        tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        for messages in conversations
    ]


def cut_at_stop(text: str, stops: list[str] | None) -> str:
    """The text up to the first stop sequence (which is left out)."""
    for stop in stops or ():
        at = text.find(stop)
        if at >= 0:
            text = text[:at]
    return text


@dataclass
class Answers:
    values: list[Any]
    truncated: int = 0
    notes: list[str] = field(default_factory=list)


def generate(loaded: Loaded, cfg: ModelComponent, prompts: list[str], *, chat: bool) -> Answers:
    """One answer per prompt: a string, or a list of ``num_return_sequences`` strings."""
    import torch

    encoded = encode(loaded, prompts, cfg.max_seq_length, special_tokens=not chat)
    kwargs = generation_kwargs(cfg)
    if "stop_strings" in kwargs:
        kwargs["tokenizer"] = loaded.tokenizer
    with torch.no_grad():
        out = loaded.model.generate(**encoded.inputs, pad_token_id=loaded.tokenizer.pad_token_id, **kwargs)
    start = encoded.inputs["input_ids"].shape[1]
    texts = [
        cut_at_stop(t, cfg.stop_sequences)
        for t in loaded.tokenizer.batch_decode(out[:, start:], skip_special_tokens=True)
    ]
    n = cfg.num_return_sequences
    grouped = [texts[i * n : (i + 1) * n] for i in range(len(prompts))]
    return Answers([g[0] if n == 1 else g for g in grouped], encoded.truncated)


def classify(loaded: Loaded, cfg: ModelComponent, texts: list[str]) -> Answers:
    """Per text: ``{label, score, scores}``, ``scores`` the probability of every label."""
    import torch

    encoded = encode(loaded, texts, cfg.max_seq_length, left=False)
    with torch.no_grad():
        logits = loaded.model(**encoded.inputs).logits
    probs = torch.softmax(logits.float(), dim=-1).tolist()
    labels = loaded.labels or [str(i) for i in range(len(probs[0]))]
    values = []
    for row in probs:
        best = max(range(len(row)), key=row.__getitem__)
        values.append({"label": labels[best], "score": row[best], "scores": dict(zip(labels, row, strict=False))})
    return Answers(values, encoded.truncated)
