"""Read-only admin views of emotion data: staff can inspect, never edit, what the worker derived.

Two pages about the model itself sit beside them, each behind its own permission: the served
model's report (``emotion.report``) and the emotion lab (``emotion.lab``).
"""

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from moodshop.admin_pages import ReportAdmin

from . import lab, report
from .models import (
    AffectSummary,
    Consent,
    DroppedFrames,
    EmotionLab,
    EmotionObservation,
    ModelReport,
    ProductEmotionDaily,
    ReactionEvent,
)
from .validation import FrameRejected


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ("shopper_id", "user", "policy_version", "granted_at", "withdrawn_at")
    list_filter = ("policy_version", "withdrawn_at")


@admin.register(ReactionEvent)
class ReactionEventAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "product",
        "emotion",
        "duration_seconds",
        "mean_confidence",
        "frames",
        "user",
        "synthetic",
    )
    list_filter = ("synthetic", "emotion", "started_at")
    search_fields = ("product__name",)
    list_select_related = ("product", "user")
    date_hierarchy = "started_at"


@admin.register(EmotionObservation)
class EmotionObservationAdmin(ReadOnlyAdmin):
    list_display = ("captured_at", "product", "sequence", "outcome", "label", "confidence", "model_version")
    list_filter = ("outcome", "label", "model_version")
    list_select_related = ("product",)
    exclude = ("probabilities",)


@admin.register(AffectSummary)
class AffectSummaryAdmin(ReadOnlyAdmin):
    list_display = ("product", "shopper_id", "user", "valence", "seconds", "updated_at")
    list_select_related = ("product", "user")


@admin.register(ProductEmotionDaily)
class ProductEmotionDailyAdmin(ReadOnlyAdmin):
    list_display = ("day", "product", "emotion", "seconds", "events")
    list_filter = ("emotion", "day")
    list_select_related = ("product",)


@admin.register(DroppedFrames)
class DroppedFramesAdmin(ReadOnlyAdmin):
    list_display = ("day", "outcome", "frames")
    list_filter = ("outcome",)


class PageAdmin(ReportAdmin):
    """An admin entry that is one page (``page_view``), not a list: shown to holders of ``permission`` only."""

    permission = ""
    template = ""

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm(self.permission)

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", self.admin_site.admin_view(self.page_view), name=name)]

    def _check(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def _render(self, request: HttpRequest, title: str, status: int = 200, **context: Any) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **context}
        return TemplateResponse(request, self.template, context, status=status)


@admin.register(ModelReport)
class ModelReportAdmin(PageAdmin):
    permission = "emotion.view_model_report"
    template = "admin/emotion/model_report.html"

    def page_view(self, request: HttpRequest) -> TemplateResponse:
        self._check(request)
        data = report.model_report(settings.EMOTION_MODEL_DIR)
        return self._render(request, "Served emotion model", report=data)


@admin.register(EmotionLab)
class EmotionLabAdmin(PageAdmin):
    permission = "emotion.use_emotion_lab"
    template = "admin/emotion/emotion_lab.html"

    def get_urls(self) -> list[URLPattern]:
        # CSRF is checked inside the view, once the upload handlers are in place: the check reads
        # the form, and a form read with Django's defaults may spill a large upload to a temporary file.
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", self.admin_site.admin_view(csrf_exempt(self.page_view)), name=name)]

    def page_view(self, request: HttpRequest) -> TemplateResponse:
        self._check(request)
        handler = lab.upload_handler(request)
        request.upload_handlers = [handler]
        return csrf_protect(self._lab)(request, handler)

    def _lab(self, request: HttpRequest, handler: lab.CappedMemoryUploadHandler) -> TemplateResponse:
        result, error, status = None, "", 200
        if request.method == "POST":
            try:
                upload = request.FILES.get(lab.FIELD)
                if handler.too_large:
                    raise lab.too_large()
                if upload is None:
                    raise FrameRejected("Choose an image to upload (JPEG, PNG or WebP).", "missing")
                result = lab.analyse(upload.read())
            except FrameRejected as exc:
                error, status = str(exc), 413 if exc.code == "too_large" else 400
        return self._render(
            request,
            "Emotion lab",
            status,
            result=result,
            error=error,
            field=lab.FIELD,
            max_bytes=settings.EMOTION_LAB_MAX_BYTES,
            max_side=settings.EMOTION_LAB_MAX_SIDE,
            bar_width=lab.BAR_WIDTH,
        )
