"""Workspace secrets are sealed at rest: the database, its dumps and backups hold no
token, and a machine without the right key says which secret and which setting."""

from __future__ import annotations

import base64
import io
import os

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.urls import reverse

from tests.web.factories import make_run
from training.models import JobRun, RunEvent, RunStatus, WorkspaceSecret
from training.secret_box import SecretUnreadable, open_sealed, seal
from training.worker import execute_run

pytestmark = pytest.mark.django_db


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def stored_column() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed_value FROM training_workspacesecret")
        return [row[0] for row in cursor.fetchall()]


def test_the_database_holds_sealed_values_and_the_worker_gets_the_plain_ones(workspace):
    WorkspaceSecret.objects.put(workspace, "HF_TOKEN", "hf_verysecret")
    stored = stored_column()
    assert len(stored) == 1 and stored[0].startswith("fernet:") and "hf_verysecret" not in stored[0]
    assert workspace.secrets_dict() == {"HF_TOKEN": "hf_verysecret"}


def test_put_replaces_a_secret_of_the_same_name(workspace):
    WorkspaceSecret.objects.put(workspace, "HF_TOKEN", "old")
    WorkspaceSecret.objects.put(workspace, "HF_TOKEN", "new")
    assert workspace.secrets_dict() == {"HF_TOKEN": "new"}


def test_a_new_key_put_first_still_opens_what_the_old_key_sealed(settings):
    old, new = new_key(), new_key()
    settings.COMPOSE_SECRETS_KEYS = [old]
    sealed_before = seal("hf_token")
    settings.COMPOSE_SECRETS_KEYS = [new, old]
    assert open_sealed(sealed_before, "HF_TOKEN") == "hf_token"
    sealed_after = seal("hf_token")
    settings.COMPOSE_SECRETS_KEYS = [new]  # the new key seals from now on
    assert open_sealed(sealed_after, "HF_TOKEN") == "hf_token"
    with pytest.raises(SecretUnreadable):
        open_sealed(sealed_before, "HF_TOKEN")


def test_the_wrong_key_names_the_secret_and_the_setting(settings):
    sealed = seal("hf_token")
    settings.COMPOSE_SECRETS_KEYS = [new_key()]
    with pytest.raises(SecretUnreadable, match="HF_TOKEN.*COMPOSE_SECRETS_KEY"):
        open_sealed(sealed, "HF_TOKEN")


def test_a_key_that_is_not_a_fernet_key_is_refused_clearly(settings):
    settings.COMPOSE_SECRETS_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured, match="COMPOSE_SECRETS_KEY.*Fernet"):
        seal("x")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "keys,names_secret", [([new_key()], True), (["not-a-fernet-key"], False)], ids=["another-key", "damaged-key"]
)
def test_a_run_whose_secrets_cannot_be_opened_fails_before_anything_starts(
    workspace, alice, settings, keys, names_secret
):
    WorkspaceSecret.objects.put(workspace, "HF_TOKEN", "hf_token")
    settings.COMPOSE_SECRETS_KEYS = keys
    run = make_run(workspace, alice)
    assert execute_run(run.pk, worker="w") == "failed"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.finished is not None
    assert "COMPOSE_SECRETS_KEY" in run.error and ("HF_TOKEN" in run.error) == names_secret
    assert not JobRun.objects.filter(run=run).exists()
    # Ended through the run's state machine: the run page hears "Run failed" with the reason.
    messages = [event.payload.get("message", "") for event in RunEvent.objects.filter(run=run)]
    assert any(message.startswith("Run failed: ") and "COMPOSE_SECRETS_KEY" in message for message in messages)


# --- the admin -------------------------------------------------------------------


def workspace_form(workspace, secrets: list[tuple[int | None, str, str]]) -> dict[str, str]:
    """The admin's change form for ``workspace`` as a browser posts it: (id, name, typed value) per secret."""
    data = {
        "name": workspace.name,
        "slug": workspace.slug,
        "default_sft_model": "changed/model",
        "default_classification_model": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "secrets-TOTAL_FORMS": str(len(secrets)),
        "secrets-INITIAL_FORMS": str(sum(1 for pk, _, _ in secrets if pk)),
    }
    for i, (pk, name, value) in enumerate(secrets):
        data.update(
            {
                f"secrets-{i}-id": str(pk or ""),
                f"secrets-{i}-workspace": str(workspace.pk),
                f"secrets-{i}-name": name,
                f"secrets-{i}-value": value,
            }
        )
    return data


def test_editing_a_workspace_keeps_secrets_nobody_retyped(client, staff, workspace):
    secret = WorkspaceSecret.objects.put(workspace, "HF_TOKEN", "hf_verysecret")
    url = reverse("admin:training_workspace_change", args=[workspace.pk])
    page = client.post(url, workspace_form(workspace, [(secret.pk, "HF_TOKEN", "")]))
    assert page.status_code == 302, page.context["inline_admin_formsets"][1].formset.errors
    workspace.refresh_from_db()
    assert workspace.default_sft_model == "changed/model"
    assert workspace.secrets_dict() == {"HF_TOKEN": "hf_verysecret"}


def test_a_typed_value_replaces_the_secret_and_a_new_one_needs_a_value(client, staff, workspace):
    secret = WorkspaceSecret.objects.put(workspace, "HF_TOKEN", "old")
    url = reverse("admin:training_workspace_change", args=[workspace.pk])
    assert client.post(url, workspace_form(workspace, [(secret.pk, "HF_TOKEN", "new")])).status_code == 302
    assert workspace.secrets_dict() == {"HF_TOKEN": "new"}
    assert stored_column()[0].startswith("fernet:")

    page = client.post(url, workspace_form(workspace, [(secret.pk, "HF_TOKEN", ""), (None, "WANDB_KEY", "")]))
    assert page.status_code == 200
    assert "Enter the secret" in page.content.decode()
    assert workspace.secrets_dict() == {"HF_TOKEN": "new"}


# --- the migration ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_plain_values_and_back_without_losing_one():
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("training", "0001_initial")], [("training", "0002_seal_workspace_secrets")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        old_apps = executor.loader.project_state(before).apps
        old_workspace = old_apps.get_model("training", "Workspace").objects.create(name="Old", slug="old")
        old_apps.get_model("training", "WorkspaceSecret").objects.create(
            workspace=old_workspace, name="HF_TOKEN", value="hf_plain"
        )

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        assert "hf_plain" not in stored_column()[0]
        assert WorkspaceSecret.objects.get(name="HF_TOKEN").reveal() == "hf_plain"

        executor = MigrationExecutor(connection)
        executor.migrate(before)
        with connection.cursor() as cursor:
            cursor.execute("SELECT value FROM training_workspacesecret")
            assert [row[0] for row in cursor.fetchall()] == ["hf_plain"]
    finally:
        MigrationExecutor(connection).migrate(latest)


# --- changing keys ---------------------------------------------------------------


def test_reseal_moves_every_secret_to_the_new_key_so_the_old_one_can_go(workspace, settings):
    from django.core.management import call_command

    old, new = new_key(), new_key()
    settings.COMPOSE_SECRETS_KEYS = [old]
    WorkspaceSecret.objects.put(workspace, "HF_TOKEN", "hf_token")
    WorkspaceSecret.objects.put(workspace, "WANDB_KEY", "wandb")
    settings.COMPOSE_SECRETS_KEYS = [new, old]
    call_command("reseal_secrets", stdout=io.StringIO())
    settings.COMPOSE_SECRETS_KEYS = [new]
    assert workspace.secrets_dict() == {"HF_TOKEN": "hf_token", "WANDB_KEY": "wandb"}


def test_reseal_names_a_secret_no_key_opens_and_keeps_it(workspace, settings):
    from django.core.management import CommandError, call_command

    WorkspaceSecret.objects.put(workspace, "HF_TOKEN", "hf_token")
    stored = stored_column()
    settings.COMPOSE_SECRETS_KEYS = [new_key()]
    with pytest.raises(CommandError, match="lab: workspace secret HF_TOKEN"):
        call_command("reseal_secrets", stdout=io.StringIO())
    assert stored_column() == stored


def test_a_form_sent_back_with_an_error_does_not_show_the_typed_value(client, staff, workspace):
    url = reverse("admin:training_workspace_change", args=[workspace.pk])
    page = client.post(url, workspace_form(workspace, [(None, "HF_TOKEN", "hf_typed_value"), (None, "WANDB_KEY", "")]))
    assert page.status_code == 200 and "Enter the secret" in page.content.decode()
    assert "hf_typed_value" not in page.content.decode()
    assert 'autocomplete="new-password"' in page.content.decode()
    assert not WorkspaceSecret.objects.exists()


def test_renaming_keeps_the_value_and_deleting_removes_the_secret(client, staff, workspace):
    token = WorkspaceSecret.objects.put(workspace, "HF_TOKEN", "hf_token")
    wandb = WorkspaceSecret.objects.put(workspace, "WANDB_KEY", "wandb")
    url = reverse("admin:training_workspace_change", args=[workspace.pk])
    form = workspace_form(workspace, [(token.pk, "HUGGING_FACE_HUB_TOKEN", ""), (wandb.pk, "WANDB_KEY", "")])
    form["secrets-1-DELETE"] = "on"
    assert client.post(url, form).status_code == 302
    assert workspace.secrets_dict() == {"HUGGING_FACE_HUB_TOKEN": "hf_token"}
