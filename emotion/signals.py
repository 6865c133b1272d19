"""Reactions follow the shop's view log: a view's end closes its open reaction events."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from shop.models import Interaction


@receiver(post_save, sender=Interaction, dispatch_uid="emotion.close_reactions_at_view_end")
def close_reactions_at_view_end(
    sender: type[Interaction], instance: Interaction, update_fields: frozenset[str] | None, **kwargs: object
) -> None:
    """A dwell report fixes when the view ended; rebuild its reactions so they stop there."""
    if update_fields and "dwell_seconds" in update_fields and instance.emotion_observations.exists():
        from .tasks import queue_reaction_refresh

        queue_reaction_refresh(instance.pk)
