from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("training", "0004_job_skipped_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="artifact",
            name="deleted",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
