"""Periodic shop maintenance run by the Celery worker (scheduled by beat)."""

from celery import shared_task

from .services import refresh_popularity


@shared_task(ignore_result=False)
def refresh_product_popularity() -> int:
    """Recompute product popularity; returns the number of products with recent activity."""
    return refresh_popularity()
