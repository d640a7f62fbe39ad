"""A json input a person types is read within the file limits: a binding error, never a crash."""

from __future__ import annotations

import pytest

from compose.bindings import BindingError, convert
from tests.compose.yaml_attacks import BOMBS

HOSTILE = ["!!float x", "!!bool maybe", "!!int " + "9" * 5000, "a: &a [*a]", "\ud800", *BOMBS.values()]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_json_input_that_cannot_be_built_is_a_binding_error(text):
    with pytest.raises(BindingError, match="is not valid JSON"):
        convert(text, "json", "input `x`")
