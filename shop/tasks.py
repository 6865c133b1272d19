"""Periodic shop maintenance run by the Celery worker (scheduled by beat)."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from .services import refresh_popularity


@shared_task(ignore_result=False)
def refresh_product_popularity() -> int:
    """Recompute product popularity; returns the number of products with recent activity."""
    return refresh_popularity()


@shared_task(ignore_result=False)
def clear_expired_sessions() -> int:
    """Delete expired sessions (every cookie-less request leaves one); returns how many.

    What ``manage.py clearsessions`` does for the database backend, counted.
    """
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
