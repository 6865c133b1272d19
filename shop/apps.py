from django.apps import AppConfig


class ShopConfig(AppConfig):
    """Catalog, cart, orders and the interaction log; knows nothing of emotions."""

    name = "shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the login handler)
