"""Project-wide API conventions: every error is JSON with a human-readable ``error`` reason."""

import logging
from functools import cache
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from moodshop.middleware import DATABASE_RETRY_AFTER

logger = logging.getLogger(__name__)


def api_error(reason: str, code: str, status_code: int = 400) -> exceptions.APIException:
    """An error to raise from a view: answered as ``{"error": reason, "code": code}`` with ``status_code``."""
    error = exceptions.APIException(detail=reason, code=code)
    error.status_code = status_code
    return error


def _as_api_error(exc: Exception) -> Exception:
    """Django's own refusals of a body (read while parsing it, e.g. by a CSRF check) as API errors,
    and an unreachable database as a 503 the client may retry.

    Unconverted, Django answers them with its HTML 400 (or 500) page instead of the API's JSON.
    """
    if isinstance(exc, RequestDataTooBig):
        return api_error("The request body is too large.", "too_large", 413)
    if isinstance(exc, MultiPartParserError):
        return api_error(f"The multipart body cannot be parsed: {exc}", "malformed_body")
    if isinstance(exc, SuspiciousOperation):
        return api_error("The request is malformed.", "malformed_body")
    if isinstance(exc, RecursionError):  # a JSON body nested deeper than the parser can follow
        return api_error("The request body is nested too deeply to parse.", "malformed_body")
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("Database unavailable for an API request: %s", exc)
        unavailable = api_error("The database is briefly unavailable; try again shortly.", "database_unavailable", 503)
        unavailable.wait = DATABASE_RETRY_AFTER
        return unavailable
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, reshaped so clients can always read ``error`` (and ``fields`` for forms)."""
    exc = _as_api_error(exc)
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


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every API error: a human-readable reason and a stable machine code.",
    "properties": {
        "error": {"type": "string", "description": "What went wrong, in plain words."},
        "code": {"type": "string", "description": "A stable code, e.g. `invalid_id`, `no_consent`, `throttled`."},
        "fields": {"type": "object", "description": "Per-field messages, for an invalid form or query."},
        "retry_after_seconds": {"type": "number", "description": "When throttled: seconds until a retry may pass."},
    },
    "required": ["error", "code"],
}
UNSAFE_METHODS = {"post", "put", "patch", "delete"}


def document_errors(result: dict[str, Any], generator: object, request: object, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation's error responses carry the JSON
    ``error``/``code`` body of :func:`exception_handler`, and the errors every operation of a kind
    can answer are listed (403 for a CSRF failure on unsafe methods, 404 for an unknown path id,
    400 for an invalid query or body, 429 where the view is throttled)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    throttled = {
        (path, method.lower())
        for path, _regex, method, callback in getattr(generator, "endpoints", None) or []
        if getattr(getattr(callback, "cls", None), "throttle_classes", None)
    }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            implied = {}
            if method in UNSAFE_METHODS:
                implied["403"] = "CSRF check failed, or not allowed"
            if "{" in path:
                implied["404"] = "Unknown id in the path"
            if operation.get("requestBody") or any(p.get("in") == "query" for p in operation.get("parameters", [])):
                implied["400"] = "Invalid query or body"
            if (path, method) in throttled:
                implied["429"] = "Too many requests (see retry_after_seconds)"
            for status, description in implied.items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = error_body
    return result


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n", 1)[0]


@cache
def api_endpoints() -> tuple[dict[str, str], ...]:
    """Every operation of the OpenAPI schema (method, path, summary): the schema is the one list."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return tuple(
        {"method": method.upper(), "path": path, "summary": _first_line(op.get("summary") or op.get("description"))}
        for path, operations in schema["paths"].items()
        for method, op in operations.items()
    )


class ApiRootView(APIView):
    """``GET /api/v1/``: where the documentation is and every endpoint, for a client finding its way."""

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(
            {
                "name": "Moodshop API",
                "docs": request.build_absolute_uri(reverse("api-docs")),
                "redoc": request.build_absolute_uri(reverse("api-redoc")),
                "schema": request.build_absolute_uri(reverse("schema")),
                "errors": 'Every error is JSON: {"error": reason, "code": stable code}.',
                "endpoints": list(api_endpoints()),
            }
        )
