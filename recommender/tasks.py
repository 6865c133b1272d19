"""Periodic retraining, scheduled by beat (``CELERY_BEAT_SCHEDULE["train-recommender"]``)."""

from celery import shared_task

from .training import train_and_publish


@shared_task(ignore_result=False)
def train_recommender() -> dict[str, object]:
    """Train on the current interaction log and publish a new version; web processes pick it up."""
    version, metrics = train_and_publish()
    return {"version": version, "blend": metrics["blend"], "validation": metrics["validation"]}
