from django.contrib import admin

from datasets_app.models import MaterializedDataset


@admin.register(MaterializedDataset)
class MaterializedDatasetAdmin(admin.ModelAdmin):
    list_display = ["fingerprint", "workspace", "num_rows", "sft_format", "size_bytes", "created", "last_used"]
    list_filter = ["workspace", "sft_format"]
    search_fields = ["fingerprint", "path"]
    readonly_fields = [
        "workspace",
        "fingerprint",
        "path",
        "num_rows",
        "columns",
        "preview",
        "sft_format",
        "size_bytes",
        "created",
        "last_used",
    ]
