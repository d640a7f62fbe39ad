"""Workspaces: who may see which documents and runs, and where their files live."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models

from training import secret_box


class Workspace(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="workspaces")
    default_sft_model = models.CharField(
        max_length=500,
        blank=True,
        help_text="Base model for SFT trainers that leave model: empty (hub id or a folder).",
    )
    default_classification_model = models.CharField(
        max_length=500, blank=True, help_text="Base model for classification trainers that leave model: empty."
    )
    allow_remote_code = models.BooleanField(
        default=False, help_text="Let documents in this workspace set trust_remote_code: true. Admins only."
    )
    gpu_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="GPUs this workspace's runs may hold at once across the fleet (empty: no limit).",
    )
    queue_paused = models.BooleanField(default=False, help_text="Queued runs wait; running ones go on.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def root(self) -> Path:
        """The folder relative paths in this workspace's documents resolve against."""
        return Path(settings.COMPOSE_WORKSPACES_DIR) / self.slug

    @property
    def storage(self) -> Path:
        """Where this workspace's materialized data sets live: a folder of its own, so a
        data set reference can only ever name one of the workspace's own data sets."""
        return Path(settings.COMPOSE_STORAGE_DIR) / "workspaces" / self.slug

    def default_models(self) -> dict[str, str]:
        """Task -> base model for trainers without ``model:`` (empty entries left out)."""
        defaults = {
            "sft": self.default_sft_model or settings.COMPOSE_DEFAULT_SFT_MODEL,
            "classification": (self.default_classification_model or settings.COMPOSE_DEFAULT_CLASSIFICATION_MODEL),
        }
        return {task: model for task, model in defaults.items() if model}

    def secrets_dict(self) -> dict[str, str]:
        """Name -> value of every secret, opened; raises ``SecretUnreadable`` naming the
        first one this machine's keys cannot open."""
        return {secret.name: secret.reveal() for secret in self.secrets.all()}


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


class WorkspaceSecretManager(models.Manager["WorkspaceSecret"]):
    def put(self, workspace: Workspace, name: str, value: str) -> WorkspaceSecret:
        """Create or replace the secret ``name`` of ``workspace``."""
        secret, _ = self.update_or_create(
            workspace=workspace, name=name, defaults={"sealed_value": secret_box.seal(value)}
        )
        return secret


class WorkspaceSecret(models.Model):
    """A value a document reads as ``${env.NAME}``; never shown, logged or exported.
    Stored sealed (``training.secret_box``): the database never holds the value itself."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=100, help_text="Read in documents as ${env.NAME}.")
    sealed_value = models.TextField(editable=False)

    objects = WorkspaceSecretManager()

    def set_value(self, value: str) -> None:
        self.sealed_value = secret_box.seal(value)

    def reveal(self) -> str:
        return secret_box.open_sealed(self.sealed_value, self.name)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="unique_secret_name")]

    def __str__(self) -> str:
        return f"{self.workspace.slug}:{self.name}"
