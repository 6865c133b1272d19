"""Experiments in the admin: create, start and stop; the report lives in Insights → Experiment reports."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from . import experiments
from .models import Experiment


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("name", "panel", "design", "arms_column", "status", "started_at", "stopped_at", "report")
    list_filter = ("panel", "design", "simulated")
    readonly_fields = ("started_at", "stopped_at", "created_at")
    actions = ("start", "stop")
    fieldsets = (
        (None, {"fields": ("name", "panel", "design", "simulated")}),
        ("Arms", {"fields": (("arm_a_model", "arm_a_emotion"), ("arm_b_model", "arm_b_emotion"), "share_b")}),
        ("Plan", {"fields": ("planned_lift", "horizon_shoppers")}),
        ("Life", {"fields": ("created_at", "started_at", "stopped_at")}),
    )

    @admin.display(description="arms (A | B)")
    def arms_column(self, obj: Experiment) -> str:
        return obj.arms

    @admin.display(description="report")
    def report(self, obj: Experiment) -> str:
        if obj.started_at is None:
            return "-"
        return format_html('<a href="{}">Report</a>', reverse("admin:insights_experimentreport_report", args=[obj.pk]))

    def get_readonly_fields(self, request: HttpRequest, obj: Experiment | None = None) -> tuple[str, ...]:
        # Once started, arms and split are part of the record: changing them would mix two experiments.
        if obj is not None and obj.started_at is not None:
            return (*self.readonly_fields, "panel", "design", "arm_a_model", "arm_a_emotion", "arm_b_model",
                    "arm_b_emotion", "share_b")  # fmt: skip
        return self.readonly_fields

    @admin.action(description="Start the selected experiments")
    def start(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset.filter(started_at__isnull=True):
            experiment.started_at = timezone.now()
            try:
                experiment.validate_constraints()
                with transaction.atomic():
                    experiment.save(update_fields=["started_at"])
            except (ValidationError, IntegrityError):
                messages.error(request, f"{experiment}: another experiment is already running on this panel.")
                continue
            messages.success(request, f"{experiment} started.")
        experiments.forget_running()

    @admin.action(description="Stop the selected experiments")
    def stop(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        stopped = queryset.filter(started_at__isnull=False, stopped_at__isnull=True).update(stopped_at=timezone.now())
        experiments.forget_running()
        messages.success(request, f"{stopped} experiment(s) stopped.")
