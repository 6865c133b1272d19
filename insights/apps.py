from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """Staff reports on shoppers' reactions: reads the shop and emotion apps, nothing reads it."""

    name = "insights"
    verbose_name = "Insights"
    default_auto_field = "django.db.models.BigAutoField"
