"""Workspace secrets move from plain text to sealed values; no secret is lost either way."""
from django.db import migrations, models


def seal_values(apps, schema_editor):
    from training import secret_box

    Secret = apps.get_model("training", "WorkspaceSecret")
    for secret in Secret.objects.all():
        secret.sealed_value = secret_box.seal(secret.value)
        secret.save(update_fields=["sealed_value"])


def open_values(apps, schema_editor):
    from training import secret_box

    Secret = apps.get_model("training", "WorkspaceSecret")
    for secret in Secret.objects.all():
        secret.value = secret_box.open_sealed(secret.sealed_value, secret.name)
        secret.save(update_fields=["value"])


class Migration(migrations.Migration):
    dependencies = [("training", "0001_initial")]

    operations = [
        migrations.AddField("workspacesecret", "sealed_value",
                            models.TextField(default="", editable=False), preserve_default=False),
        # Back to plain text needs the value column to exist (again) before the data moves.
        migrations.AlterField("workspacesecret", "value", models.TextField(default="")),
        migrations.RunPython(seal_values, open_values),
        migrations.RemoveField("workspacesecret", "value"),
    ]
