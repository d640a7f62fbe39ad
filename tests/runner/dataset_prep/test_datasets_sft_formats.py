"""SFT format detection on a data set's columns (seed §9.2.5) and the trainer fields it suggests."""

from __future__ import annotations

import doctest

import pytest

import compose.sft_formats
from compose.sft_formats import detect_sft_format, suggested_trainer_columns


@pytest.mark.parametrize(
    "columns, fmt, suggested",
    [
        (["text"], "text", {"text_column": "text"}),
        (["prompt", "response"], "prompt-response", {"prompt_column": "prompt", "response_column": "response"}),
        (
            ["instruction", "input", "output"],
            "instruction",
            {"prompt_column": "instruction", "response_column": "output"},
        ),
        (
            ["system", "prompt", "response", "id"],
            "system-prompt-response",
            {"system_column": "system", "prompt_column": "prompt", "response_column": "response"},
        ),
        (["text", "prompt", "response"], "prompt-response", {"prompt_column": "prompt", "response_column": "response"}),
        (["question", "answer"], None, {}),
    ],
)
def test_formats(columns, fmt, suggested):
    assert detect_sft_format(columns) == fmt
    assert suggested_trainer_columns(fmt) == suggested


def test_docstring_examples():
    assert doctest.testmod(compose.sft_formats).failed == 0


def test_module_stays_light():
    import subprocess
    import sys

    code = "import sys, compose.sft_formats; print(any(m in sys.modules for m in ('datasets', 'torch', 'django')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
