import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """The fleet's tables (workers, their GPUs, runs' needs); filled in with the fleet models."""

    dependencies = [
        ('training', '0006_run_attempts_and_resume'),
    ]

    operations = [
        migrations.CreateModel(
            name='Worker',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200, unique=True)),
                ('host', models.CharField(blank=True, max_length=200)),
                ('pid', models.PositiveIntegerField(blank=True, null=True)),
                ('cpu_count', models.PositiveIntegerField(default=0)),
                ('disk_free_bytes', models.BigIntegerField(blank=True, null=True)),
                ('labels', models.JSONField(blank=True, default=list)),
                ('fake_gpus', models.BooleanField(default=False)),
                ('slots', models.PositiveIntegerField(default=1)),
                ('status', models.CharField(choices=[('online', 'Online'), ('stopped', 'Stopped'), ('lost', 'Lost')], default='online', max_length=10)),
                ('started', models.DateTimeField(default=django.utils.timezone.now)),
                ('last_seen', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.AddField(
            model_name='run',
            name='need_gpu_memory_gb',
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='run',
            name='need_gpus',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='run',
            name='need_labels',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='run',
            name='priority',
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name='workspace',
            name='gpu_limit',
            field=models.PositiveIntegerField(blank=True, help_text="GPUs this workspace's runs may hold at once across the fleet (empty: no limit).", null=True),
        ),
        migrations.AddField(
            model_name='workspace',
            name='queue_paused',
            field=models.BooleanField(default=False, help_text='Queued runs wait; running ones go on.'),
        ),
        migrations.CreateModel(
            name='Gpu',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('index', models.PositiveIntegerField()),
                ('name', models.CharField(blank=True, max_length=200)),
                ('memory_mb', models.PositiveIntegerField(default=0)),
                ('claimed_at', models.DateTimeField(blank=True, null=True)),
                ('run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='gpus', to='training.run')),
                ('worker', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='gpus', to='training.worker')),
            ],
            options={
                'ordering': ['worker', 'index'],
                'constraints': [models.UniqueConstraint(fields=('worker', 'index'), name='unique_gpu_per_worker')],
            },
        ),
    ]
