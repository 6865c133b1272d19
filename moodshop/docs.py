"""The API documentation pages: Swagger UI and Redoc from drf-spectacular-sidecar's vendored files.

They keep to the site's Content-Security-Policy (no inline script: Swagger UI's init script is
served by its view, ``?script``) with two additions on these views only: both UIs set inline
styles (Redoc injects <style> elements, Swagger UI style attributes), and Redoc's search runs in
a worker started from a blob: URL. Redoc's sidebar logo comes from a CDN, which ``img-src``
refuses, so no request leaves the host.
"""

from csp.decorators import csp_update
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

DOCS_CSP = {"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]}


class SwaggerView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"


class RedocView(SpectacularRedocView):
    template_name = "api/redoc.html"


swagger_ui = csp_update(DOCS_CSP)(SwaggerView.as_view(url_name="schema"))
redoc = csp_update(DOCS_CSP)(RedocView.as_view(url_name="schema"))
