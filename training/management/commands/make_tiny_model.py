from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from training.management.commands import _tiny
from training.models import Workspace


class Command(BaseCommand):
    help = (
        "Write a tiny random Llama (models/tiny-llama) and a small data set "
        "(data/tiny-sft.jsonl) into a workspace's folder, for a run that takes seconds."
    )

    def add_arguments(self, parser) -> None:
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--workspace", default="demo", help="workspace slug (default: demo)")
        where.add_argument("--out", type=Path, help="write into this folder instead")
        parser.add_argument("--force", action="store_true", help="rebuild an existing model")

    def handle(self, *args, workspace: str, out: Path | None, force: bool, **options) -> None:
        if out is None:
            try:
                out = Workspace.objects.get(slug=workspace).root
            except Workspace.DoesNotExist:
                raise CommandError(f"no workspace {workspace!r}; run `manage.py bootstrap` first") from None
        data = _tiny.write_data(out)
        model_dir = out / _tiny.MODEL_DIR
        if (model_dir / "config.json").exists() and not force:
            self.stdout.write(f"kept {model_dir} (use --force to rebuild)")
        else:
            _tiny.write_model(out)
            self.stdout.write(f"wrote {model_dir}")
        self.stdout.write(f"wrote {data}")
