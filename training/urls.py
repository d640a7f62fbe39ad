from django.urls import path

from training.views import compare, documents, downloads, editor, fleet, home, outputs, runs, tokens, workflow_editor

app_name = "training"

urlpatterns = [
    path("", home.home, name="home"),
    path("w/<slug:slug>/", home.workspace, name="workspace"),
    path("w/<slug:slug>/compare/", compare.compare, name="compare"),
    path("w/<slug:slug>/documents/new/", documents.document_new, name="document_new"),
    path("validate.json", documents.validate_yaml, name="validate_yaml"),
    path("documents/<int:pk>/", documents.document, name="document"),
    path("documents/<int:pk>/yaml/", documents.document_save_yaml, name="document_save_yaml"),
    path("documents/<int:pk>/export/<str:dialect>/", documents.document_export, name="document_export"),
    path("documents/<int:pk>/components/new/", editor.component_new, name="component_new"),
    path("documents/<int:pk>/components/<str:component_id>/", editor.component_edit, name="component_edit"),
    path("documents/<int:pk>/workflows/<str:workflow_id>/", workflow_editor.workflow_edit, name="workflow_edit"),
    path("documents/<int:pk>/workflows/<str:workflow_id>/run/", runs.run_new, name="run_new"),
    path("runs/<int:pk>/", runs.run_detail, name="run"),
    path("runs/<int:pk>/events.json", runs.run_events, name="run_events"),
    path("runs/<int:pk>/datasets/", runs.run_datasets, name="run_datasets"),
    path("runs/<int:pk>/configs/", runs.run_configs, name="run_configs"),
    path("runs/<int:pk>/answers/", runs.run_answers, name="run_answers"),
    path("runs/<int:pk>/cancel/", runs.run_cancel, name="run_cancel"),
    path("runs/<int:pk>/rerun/", runs.run_rerun, name="run_rerun"),
    path("runs/<int:pk>/download/", downloads.run_download, name="run_download"),
    path("runs/<int:pk>/artifacts/<int:artifact_id>/download/", downloads.artifact_download, name="artifact_download"),
    path("runs/<int:pk>/outputs/", outputs.run_files, name="run_files"),
    path("runs/<int:pk>/outputs/delete/", outputs.run_delete_outputs, name="run_delete_outputs"),
    path("runs/<int:pk>/resume/", runs.run_resume, name="run_resume"),
    path("runs/<int:pk>/rerun-current/", runs.run_rerun_current, name="run_rerun_current"),
    path("fleet/", fleet.fleet, name="fleet"),
    path("queue/", fleet.queue, name="queue"),
    path("queue/<int:pk>/move/<str:where>/", fleet.queue_move, name="queue_move"),
    path("queue/<int:pk>/cancel/", fleet.queue_cancel, name="queue_cancel"),
    path("queue/w/<slug:slug>/<str:state>/", fleet.queue_pause, name="queue_pause"),
    path("settings/tokens/", tokens.tokens, name="tokens"),
    path("settings/tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
]
