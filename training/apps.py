from django.apps import AppConfig


class TrainingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "training"

    def ready(self) -> None:
        # The actions queue runs through training.run_queue; the task that executes a run
        # lives above them (training.tasks imports the worker, which imports the actions).
        from training import run_queue, tasks

        run_queue.set_scheduler(tasks.schedule_run)
