"""State changes of compose documents."""

from __future__ import annotations

from django.db import transaction

from training.actions.definition import summarize
from training.models import ComposeDocument, Workspace


def create_document(workspace: Workspace, user, name: str, yaml_text: str) -> ComposeDocument:
    """Store a new document as written; its summary lists any problems (it is still saved,
    so an import with errors keeps the text)."""
    with transaction.atomic():
        return ComposeDocument.objects.create(
            workspace=workspace,
            name=name,
            yaml_text=yaml_text,
            definition=summarize(yaml_text),
            created_by=user,
            updated_by=user,
        )


def update_document(document: ComposeDocument, user, yaml_text: str, name: str | None = None) -> ComposeDocument:
    with transaction.atomic():
        document.yaml_text = yaml_text
        document.definition = summarize(yaml_text)
        document.updated_by = user
        fields = ["yaml_text", "definition", "updated_by", "updated_at"]
        if name is not None:
            document.name = name
            fields.append("name")
        document.save(update_fields=fields)
    return document
