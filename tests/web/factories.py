"""Small builders shared by the web tests (plain functions, no factory library)."""

from __future__ import annotations

from training.models import Run, Workspace

TINY_DOCUMENT = """\
components:
  - id: rows
    type: datasets
    provider: local
    loader: json
    data_files: ./data/rows.jsonl
workflows:
  - id: load-rows
    jobs:
      - id: load
        component: rows
"""


def make_run(workspace: Workspace, user=None, **fields) -> Run:
    values = {"workflow_id": "load-rows", "yaml_snapshot": TINY_DOCUMENT, "inputs": {}}
    values.update(fields)
    return Run.objects.create(workspace=workspace, created_by=user, **values)
