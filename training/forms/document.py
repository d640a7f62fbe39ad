"""Forms for creating/importing a compose document and editing its YAML text."""

from __future__ import annotations

from typing import Any

from django import forms

from training.models import ComposeDocument, Workspace

MAX_UPLOAD_BYTES = 1_000_000

STARTER_YAML = """\
# A compose file: components say what to do, workflows say in which order.
components:
  - id: local-data
    type: datasets
    provider: local
    loader: json
    data_files: ./data/train.json

  - id: trainer
    type: model-trainer
    task: sft
    dataset: ${input.dataset}
    text_column: text
    learning_rate: 5e-5
    num_epochs: 1
    output_dir: ./output/model

workflows:
  - id: train
    jobs:
      - id: load
        component: local-data
      - id: train
        component: trainer
        input:
          dataset: ${jobs.load.output}
        depends_on: [load]
"""


def normalize_newlines(text: str) -> str:
    """Browsers send text areas with CRLF line ends; documents keep plain LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


class DocumentImportForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="A name for the document, unique in the workspace.")
    yaml_text = forms.CharField(
        required=False,
        strip=False,
        label="YAML",
        widget=forms.Textarea(attrs={"class": "code", "spellcheck": "false", "rows": 24}),
    )
    upload = forms.FileField(
        required=False,
        label="…or upload a .yaml file",
        widget=forms.ClearableFileInput(attrs={"accept": ".yaml,.yml,text/yaml"}),
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any):
        self.workspace = workspace
        super().__init__(*args, **kwargs)

    def clean_yaml_text(self) -> str:
        return normalize_newlines(self.cleaned_data.get("yaml_text") or "")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if ComposeDocument.objects.filter(workspace=self.workspace, name=name).exists():
            raise forms.ValidationError("A document with this name exists in the workspace; pick another.")
        return name

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        upload = data.get("upload")
        if upload:
            if upload.size > MAX_UPLOAD_BYTES:
                raise forms.ValidationError("The file is larger than 1 MB.")
            try:
                data["yaml_text"] = normalize_newlines(upload.read().decode("utf-8-sig"))
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.") from None
        if not (data.get("yaml_text") or "").strip():
            raise forms.ValidationError("Paste the YAML or choose a file.")
        return data


class YamlTextForm(forms.Form):
    yaml_text = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs={"class": "code", "spellcheck": "false", "rows": 30})
    )

    def clean_yaml_text(self) -> str:
        return normalize_newlines(self.cleaned_data.get("yaml_text") or "")
