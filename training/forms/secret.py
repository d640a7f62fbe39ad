"""The admin's form for a workspace secret: the value is written, never read back."""

from __future__ import annotations

from typing import Any

from django import forms

from training.models import WorkspaceSecret


class WorkspaceSecretForm(forms.ModelForm):
    value = forms.CharField(
        # new-password: a password manager must not fill in the admin's own login here.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        required=False,
        help_text="Typed in once and stored sealed; never shown again. Leave blank to keep the stored value.",
    )

    class Meta:
        model = WorkspaceSecret
        fields = ["name"]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if not self.instance.pk and not cleaned.get("value"):
            self.add_error("value", "Enter the secret's value.")
        return cleaned

    def save(self, commit: bool = True) -> WorkspaceSecret:
        if self.cleaned_data.get("value"):
            self.instance.set_value(self.cleaned_data["value"])
        return super().save(commit)
