"""Fixtures of the page tests: logged-in clients for alice (a member) and bob (not one),
and a document holding the seed's §9.8.3 example."""

from __future__ import annotations

import functools

import pytest

from tests.compose.seed_blocks import seed_blocks


@functools.lru_cache(maxsize=1)
def seed_example() -> str:
    """The seed chapter's §9.8.3 example, read from the document, with a comment added so
    the editor tests can see comments survive (a test asking for it skips in a bare clone)."""
    return next(b.text for b in seed_blocks() if b.section == "9.8.3").replace(
        "learning_rate: 5e-5\n", "learning_rate: 5e-5   # peak learning rate\n", 1
    )


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob):
    from django.test import Client

    c = Client()
    c.force_login(bob)
    return c


@pytest.fixture
def document(workspace, alice):
    from training.actions import create_document

    return create_document(workspace, alice, "custom", seed_example())


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def __getattr__(name: str) -> str:
    # `from tests.web.views.conftest import SEED_EXAMPLE` reads the chapter on first use, so
    # a module that needs it at import is skipped whole in a bare clone.
    if name == "SEED_EXAMPLE":
        return seed_example()
    raise AttributeError(name)
