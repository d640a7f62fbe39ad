"""Which SFT layout a data set's columns follow (seed §9.2.5), and the trainer columns it implies.

Pure: the editor calls it on a data set summary to prefill a trainer's column fields.
"""

from __future__ import annotations

from collections.abc import Iterable

TEXT = "text"
PROMPT_RESPONSE = "prompt-response"
INSTRUCTION = "instruction"
SYSTEM_PROMPT_RESPONSE = "system-prompt-response"
SFT_FORMATS: tuple[str, ...] = (TEXT, PROMPT_RESPONSE, INSTRUCTION, SYSTEM_PROMPT_RESPONSE)

_SUGGESTED: dict[str, dict[str, str]] = {
    TEXT: {"text_column": "text"},
    PROMPT_RESPONSE: {"prompt_column": "prompt", "response_column": "response"},
    # Alpaca's optional ``input`` is context for the instruction; the trainer reads the
    # instruction as the prompt and the output as the response.
    INSTRUCTION: {"prompt_column": "instruction", "response_column": "output"},
    SYSTEM_PROMPT_RESPONSE: {"system_column": "system", "prompt_column": "prompt", "response_column": "response"},
}


def detect_sft_format(columns: Iterable[str]) -> str | None:
    """The most specific seed format the columns contain, or None.

    >>> detect_sft_format(["system", "prompt", "response"])
    'system-prompt-response'
    >>> detect_sft_format(["instruction", "input", "output"])
    'instruction'
    >>> detect_sft_format(["instruction", "output"])
    'instruction'
    >>> detect_sft_format(["text", "label"])
    'text'
    >>> detect_sft_format(["question", "answer"]) is None
    True
    """
    names = set(columns)
    if {"system", "prompt", "response"} <= names:
        return SYSTEM_PROMPT_RESPONSE
    if {"prompt", "response"} <= names:
        return PROMPT_RESPONSE
    if {"instruction", "output"} <= names:
        return INSTRUCTION
    if "text" in names:
        return TEXT
    return None


def suggested_trainer_columns(format: str | None) -> dict[str, str]:
    """Trainer fields (``text_column``, ``prompt_column`` ...) for a format; {} when unknown.

    >>> suggested_trainer_columns("instruction")
    {'prompt_column': 'instruction', 'response_column': 'output'}
    >>> suggested_trainer_columns(None)
    {}
    """
    return dict(_SUGGESTED.get(format or "", {}))
