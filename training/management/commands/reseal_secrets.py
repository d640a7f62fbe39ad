"""``manage.py reseal_secrets``: seal every workspace secret again with the first key.

After a new key was put first (``COMPOSE_SECRETS_KEY=new,old``), this moves every
secret to it; then the old key can be dropped. A secret no key opens is named and left
as it is, and the command exits non-zero.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from training.models import WorkspaceSecret
from training.secret_box import SecretUnreadable


class Command(BaseCommand):
    help = "Seal every workspace secret again with the first COMPOSE_SECRETS_KEY."

    def handle(self, *args, **options) -> None:
        resealed, unreadable = 0, []
        with transaction.atomic():
            for secret in WorkspaceSecret.objects.select_related("workspace").select_for_update():
                try:
                    secret.set_value(secret.reveal())
                except SecretUnreadable as exc:
                    unreadable.append(f"{secret.workspace.slug}: {exc}")
                    continue
                secret.save(update_fields=["sealed_value"])
                resealed += 1
        self.stdout.write(f"resealed {resealed} secret{'s' if resealed != 1 else ''} with the first key")
        if unreadable:
            raise CommandError("some secrets could not be opened and were left as they were:\n" + "\n".join(unreadable))
