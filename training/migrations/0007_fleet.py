from django.db import migrations


class Migration(migrations.Migration):
    """The fleet's tables (workers, their GPUs, runs' needs); filled in with the fleet models."""

    dependencies = [
        ('training', '0006_run_attempts_and_resume'),
    ]

    operations = []
