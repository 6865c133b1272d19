"""Project-wide middleware: what a page answers while the database is out of reach."""

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template import loader

logger = logging.getLogger(__name__)

# Seconds a client should wait before retrying: a restart or failover of PostgreSQL
# usually takes a few seconds, and the worker's own retries back off from 2 s.
DATABASE_RETRY_AFTER = 5


def database_unavailable_response() -> HttpResponse:
    """503 with ``Retry-After``: rendered without a request, so no context processor queries the database."""
    response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


class DatabaseUnavailableMiddleware:
    """A page whose database is unreachable answers 503 with Retry-After, not a 500.

    The outage is the operator's to fix and the shopper's to wait out: a 500 would say the
    page is broken. The API's views answer the same outage as JSON (``moodshop.api``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("Database unavailable for %s %s: %s", request.method, request.path, exception)
        return database_unavailable_response()
