"""Read-only admin views of emotion data: staff can inspect, never edit, what the worker derived."""

from django.contrib import admin

from .models import AffectSummary, Consent, DroppedFrames, EmotionObservation, ProductEmotionDaily, ReactionEvent


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
