"""Fixtures shared by the whole suite: tiny local models, built once per test session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Nothing in the suite may reach the Hugging Face Hub.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The test models are tiny: one thread per process is several times faster than threads
# spinning against each other (and against parallel test processes) on a small machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")
if "torch" in sys.modules:
    sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.fixture(scope="session")
def tiny_causal_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved 2-layer Llama with a BPE tokenizer and a chat template (system/user/assistant)."""
    from tests.fixtures.tiny_models import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-causal-lm"))


@pytest.fixture(scope="session")
def tiny_classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved 2-layer BERT encoder with a tokenizer; the head is sized by the trainer."""
    from tests.fixtures.tiny_models import build_tiny_classifier

    return build_tiny_classifier(tmp_path_factory.mktemp("tiny-classifier"))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """One visible line when the seed chapter is not beside the clone (its tests skip)."""
    from tests.compose.seed_blocks import find_seed, missing_seed_message

    if find_seed() is None:
        terminalreporter.write_line("note: " + missing_seed_message(), yellow=True)


# Property tests (Hypothesis): the same bounded set of examples on every run and no example
# database on disk, so a run in CI is repeatable; HYPOTHESIS_PROFILE=explore searches wider.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile(
    "ci", derandomize=True, database=None, max_examples=240, deadline=None, print_blob=False
)
_hypothesis_settings.register_profile("explore", max_examples=5000, deadline=None)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
