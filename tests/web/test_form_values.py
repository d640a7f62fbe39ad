"""A value typed into an editor field is read within the file limits: a form error, never a 500."""

from __future__ import annotations

import pytest

from tests.compose.test_typed_values import HOSTILE


@pytest.mark.parametrize("text", HOSTILE)
def test_form_fields_refuse_it_with_a_validation_error(text):
    from django import forms

    from training.forms.component import _yaml
    from training.forms.workflow import _parse_input

    with pytest.raises(forms.ValidationError):
        _parse_input(text)
    with pytest.raises(forms.ValidationError):
        _yaml(text)
