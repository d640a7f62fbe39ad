from django.apps import AppConfig


class DatasetsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "datasets_app"
    verbose_name = "Data sets"
