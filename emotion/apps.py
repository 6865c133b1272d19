from django.apps import AppConfig


class EmotionConfig(AppConfig):
    """Consent, frame capture, the emotion worker and reaction events (ML lives in ``emotion.ml``)."""

    name = "emotion"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the receivers)
