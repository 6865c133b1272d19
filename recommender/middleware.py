"""Records a click on a recommended link: the link names its list and position (``?rl=...&rp=...``).

A middleware rather than a view, so the link goes straight to the product page (no redirect
hop) and the shop's views need to know nothing of recommendations. Malformed parameters are
ignored: the page is still served, nothing is recorded.
"""

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from shop.services import shopper_id_for

from . import tracking
from .experiments import CLICK_LIST, CLICK_POSITION

MAX_POSITION = 1000


class ClickMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and CLICK_LIST in request.GET:
            self._record(request)
        return self.get_response(request)

    @staticmethod
    def _record(request: HttpRequest) -> None:
        position = request.GET.get(CLICK_POSITION, "")
        try:
            list_id = uuid.UUID(request.GET[CLICK_LIST])
        except ValueError:
            return
        if not (position.isascii() and position.isdigit() and int(position) < MAX_POSITION):
            return
        tracking.record_click(list_id, int(position), shopper_id_for(request.session))
