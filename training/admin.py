"""Run history and housekeeping. State changes go through training.actions, as in views."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from training.actions import InvalidTransition, RunRefused, request_cancel, rerun
from training.actions.outputs import OutputsInUse, delete_outputs, plan_deletion
from training.actions.tokens import revoke_token
from training.forms.secret import WorkspaceSecretForm
from training.models import (
    ApiToken,
    Artifact,
    ComposeDocument,
    Gpu,
    JobRun,
    Membership,
    MetricPoint,
    Run,
    RunEvent,
    Sweep,
    Worker,
    Workspace,
    WorkspaceSecret,
)
from training.templatetags.compose_ui import run_duration
from training.views.common import headline_metric, with_headline


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class SecretInline(admin.TabularInline):
    model = WorkspaceSecret
    form = WorkspaceSecretForm
    extra = 0
    fields = ["name", "value"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "default_sft_model",
        "default_classification_model",
        "allow_remote_code",
        "gpu_limit",
        "queue_paused",
    ]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    inlines = [MembershipInline, SecretInline]


class GpuInline(admin.TabularInline):
    model = Gpu
    extra = 0
    fields = readonly_fields = ("index", "name", "memory_mb", "run", "claimed_at")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    """The fleet as workers report it: read-only (workers register themselves)."""

    list_display = ["name", "host", "status", "cpu_count", "slots", "fake_gpus", "last_seen"]
    list_filter = ["status", "fake_gpus"]
    search_fields = ["name", "host"]
    inlines = [GpuInline]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Worker._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ComposeDocument)
class ComposeDocumentAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "updated_by", "updated_at"]
    list_filter = ["workspace"]
    search_fields = ["name"]
    readonly_fields = ["definition", "created_by", "updated_by", "created_at", "updated_at"]


class _RecordedInline(admin.TabularInline):
    """Rows of a run's record (what the worker and the jobs reported): shown, never edited."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class JobRunInline(_RecordedInline):
    model = JobRun
    fields = (
        "job_id",
        "component_id",
        "status",
        "progress_current",
        "progress_total",
        "started",
        "finished",
        "message",
    )
    readonly_fields = fields


class ArtifactInline(_RecordedInline):
    model = Artifact
    fields = ("job_id", "kind", "path", "size_bytes", "step", "deleted")
    readonly_fields = fields


def _count_link(run: Run, model: str, count: int, label: str) -> str:
    url = reverse(f"admin:training_{model}_changelist") + f"?run__id__exact={run.pk}"
    return format_html('<a href="{}">{} {}</a>', url, count, label)


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "workflow_id",
        "document",
        "workspace",
        "status",
        "attempts",
        "created_by",
        "created",
        "duration",
        "headline",
        "worker",
        "run_page",
    ]
    list_filter = ["status", "workspace", "created_by", "workflow_id", "created"]
    date_hierarchy = "created"
    search_fields = ["workflow_id", "document__name", "worker", "error"]
    list_select_related = ["document", "workspace", "created_by"]
    readonly_fields = (
        "run_page",
        "workspace",
        "document",
        "workflow_id",
        "inputs",
        "created_by",
        "rerun_of",
        "resumed_from",
        "sweep",
        "attempts",
        "created",
        "started",
        "finished",
        "status",
        "worker",
        "heartbeat_at",
        "cancel_requested",
        "output",
        "error",
        "last_seq",
        "records",
        "yaml_snapshot",
    )
    fields = readonly_fields
    inlines = [JobRunInline, ArtifactInline]
    actions = ["cancel_runs", "rerun_runs", "delete_run_outputs"]

    def has_add_permission(self, request) -> bool:
        return False  # runs are queued from a document, where they are validated

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # history is read-only; cancel and rerun are actions of the list

    def get_queryset(self, request):
        return with_headline(super().get_queryset(request))

    @admin.display(description="Duration")
    def duration(self, run: Run) -> str:
        return run_duration(run)

    @admin.display(description="Headline metric")
    def headline(self, run: Run) -> str:
        found = headline_metric(run)
        return f"{found[0]} {found[1]:.4g}" if found else "—"

    @admin.display(description="Attempt")
    def attempts(self, run: Run) -> str:
        """ "attempt 2 of 3, resumed from checkpoint-40" for a run that was queued again."""
        if run.attempt < 2 and not run.resumed_from_id:
            return "—"
        text = f"attempt {run.attempt} of {settings.COMPOSE_MAX_ATTEMPTS}" if run.attempt > 1 else ""
        resumed = list(
            run.events.filter(payload__type="status", payload__message__startswith="resumed from ")
            .order_by("-seq")
            .values_list("payload__message", flat=True)[:1]
        )
        return ", ".join(part for part in (text, *resumed) if part)

    @admin.display(description="Run page")
    def run_page(self, run: Run) -> str:
        return format_html('<a href="{}">open</a>', reverse("training:run", args=[run.pk]))

    @admin.display(description="Recorded")
    def records(self, run: Run) -> str:
        return format_html(
            "{} &middot; {}",
            _count_link(run, "runevent", run.events.count(), "events"),
            _count_link(run, "metricpoint", run.metrics.count(), "metric points"),
        )

    @admin.action(description="Cancel the selected runs")
    def cancel_runs(self, request, queryset) -> None:
        done = 0
        for run in queryset:
            try:
                request_cancel(run, request.user)
                done += 1
            except InvalidTransition as exc:
                self.message_user(request, str(exc), messages.WARNING)
        if done:
            self.message_user(request, f"Cancel requested for {done} run(s).", messages.SUCCESS)

    @admin.action(description="Rerun the selected runs")
    def rerun_runs(self, request, queryset) -> None:
        for run in queryset:
            try:
                new = rerun(run, request.user)
            except RunRefused as exc:
                self.message_user(request, f"Run {run.pk} cannot be rerun: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"Run {run.pk} queued again as run {new.pk}.", messages.SUCCESS)

    @admin.action(description="Delete the selected runs' outputs (files; the record stays)")
    def delete_run_outputs(self, request, queryset):
        runs = list(queryset.select_related("workspace"))
        if request.POST.get("post") != "yes":  # first ask, listing what would go
            plans = [(run, plan_deletion(run)) for run in runs]
            return TemplateResponse(
                request,
                "admin/training/run/delete_outputs.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": "Delete the outputs of these runs?",
                    "plans": plans,
                    "total": sum(plan.bytes for _, plan in plans),
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        for run in runs:
            try:
                done = delete_outputs(run, request.user)
            except (OutputsInUse, PermissionDenied) as exc:
                self.message_user(request, f"Run {run.pk}: {exc}", messages.WARNING)
                continue
            for failure in done.failed:
                self.message_user(request, f"Run {run.pk}: not removed: {failure}", messages.ERROR)
            self.message_user(
                request, f"Run {run.pk}: outputs deleted, {filesizeformat(done.bytes)} freed.", messages.SUCCESS
            )
        return None


@admin.register(Sweep)
class SweepAdmin(admin.ModelAdmin):
    """Sweeps as they were queued: read-only, as run history is; their runs are in the run list."""

    list_display = ["id", "workflow_id", "document", "workspace", "swept", "run_count", "created_by", "created"]
    list_filter = ["workspace", "created_by", "created"]
    search_fields = ["workflow_id", "document__name"]
    list_select_related = ["document", "workspace", "created_by"]
    readonly_fields = ("workspace", "document", "workflow_id", "values", "created_by", "created", "run_list")
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False  # a sweep is queued from the run form, where its runs are validated

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Swept inputs")
    def swept(self, sweep: Sweep) -> str:
        return " × ".join(f"{name} ({len(values)})" for name, values in sweep.values.items())

    @admin.display(description="Runs")
    def run_count(self, sweep: Sweep) -> int:
        return sweep.runs.count()

    @admin.display(description="Runs")
    def run_list(self, sweep: Sweep) -> str:
        url = reverse("admin:training_run_changelist") + f"?sweep__id__exact={sweep.pk}"
        return format_html('<a href="{}">{} runs</a>', url, sweep.runs.count())


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RunEvent)
class RunEventAdmin(_ReadOnly):
    list_display = ["run", "seq", "type", "job_id", "ts"]
    list_filter = ["type"]
    search_fields = ["job_id"]
    raw_id_fields = ["run"]


@admin.register(MetricPoint)
class MetricPointAdmin(_ReadOnly):
    list_display = ["run", "job_id", "split", "name", "step", "value"]
    list_filter = ["split", "name"]
    raw_id_fields = ["run"]


@admin.register(JobRun)
class JobRunAdmin(_ReadOnly):
    list_display = ["run", "job_id", "component_id", "status", "started", "finished"]
    list_filter = ["status"]
    raw_id_fields = ["run"]


@admin.register(Artifact)
class ArtifactAdmin(_ReadOnly):
    list_display = ["run", "job_id", "kind", "path", "size_bytes", "step", "deleted"]
    list_filter = ["kind"]
    raw_id_fields = ["run"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff see every user's tokens (never the token itself) and can revoke any of them."""

    list_display = ["name", "user", "hint", "created", "last_used", "revoked"]
    list_filter = [("revoked", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user__username"]
    readonly_fields = ["user", "name", "hint", "created", "last_used", "revoked"]
    exclude = ["digest"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # a token is made by its user, who is the only one to see it

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        for token in queryset.filter(revoked__isnull=True):
            revoke_token(token)
        self.message_user(request, "Revoked.", messages.SUCCESS)
