"""Periodic training, scheduled by beat: an hourly refit and a nightly engine selection."""

from celery import shared_task

from .training import train_and_publish


@shared_task(ignore_result=False)
def train_recommender() -> dict[str, object]:
    """Refit the last selected engine on the current log (selecting again when there is no recent
    selection) and publish a new version; web processes pick it up."""
    version, metrics = train_and_publish(select=False)
    return {"version": version, "selection": metrics["selection"]["label"], "blend": metrics["blend"]}


@shared_task(ignore_result=False)
def select_recommender() -> dict[str, object]:
    """Select the engine and its hyper-parameters on the shop's latest interactions, then publish."""
    version, metrics = train_and_publish(select=True)
    return {
        "version": version,
        "selection": metrics["selection"]["label"],
        "reason": metrics["selection"]["reason"],
        "seconds": metrics["seconds"],
    }
