"""Keep an anonymous shopper's history when they log in."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from .services import attach_anonymous_history, shopper_id_for


@receiver(user_logged_in)
def attach_history_on_login(sender: type, request: HttpRequest, user, **kwargs: object) -> None:
    # login() cycles the session key but keeps its data, so the shopper id (and cart) survive.
    attach_anonymous_history(user, shopper_id_for(request.session))
