from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    """Collaborative filtering blended with emotional reactions."""

    name = "recommender"
    default_auto_field = "django.db.models.BigAutoField"
