"""Project-wide API conventions: every error is JSON with a human-readable ``error`` reason."""

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def api_error(reason: str, code: str, status_code: int = 400) -> exceptions.APIException:
    """An error to raise from a view: answered as ``{"error": reason, "code": code}`` with ``status_code``."""
    error = exceptions.APIException(detail=reason, code=code)
    error.status_code = status_code
    return error


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, reshaped so clients can always read ``error`` (and ``fields`` for forms)."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" in data:
        body: dict[str, Any] = {"error": str(data["detail"]), "code": getattr(data["detail"], "code", "error")}
    else:
        body = {"error": "invalid request", "code": "invalid", "fields": data}
    if getattr(exc, "wait", None):
        body["retry_after_seconds"] = exc.wait
        response["Retry-After"] = str(int(exc.wait))
    response.data = body
    return response
