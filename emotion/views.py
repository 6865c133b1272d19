"""Plain (non-API) emotion views: the model files of on-device mode."""

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_safe

from . import on_device


@require_safe
def on_device_model(request: HttpRequest, name: str) -> HttpResponse:
    """One of the two model files the page runs in browser mode (404 in server mode), gzipped when accepted.

    Revalidated by ETag rather than cached for a fixed time: a new model is picked up by the
    next page, never mixed with a page's old parameters.
    """
    model = on_device.model_file(name) if on_device.enabled() else None
    if model is None:
        raise Http404("No such model file")
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    etag = f'"{model.etag}-gzip"' if gzipped else f'"{model.etag}"'
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(model.gzipped if gzipped else model.content, content_type="application/octet-stream")
        if gzipped:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    response["Vary"] = "Accept-Encoding"
    return response
