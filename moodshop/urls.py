"""Root URL configuration."""

from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView

from moodshop import docs
from moodshop.api import ApiRootView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("shop.auth_urls")),
    path("api/v1/", include("emotion.urls")),
    path("api/v1/", include("recommender.urls")),
    path("api/v1/", include("insights.urls")),
    path("api/v1/", ApiRootView.as_view(), name="api-root"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", docs.swagger_ui, name="api-docs"),
    path("api/v1/redoc/", docs.redoc, name="api-redoc"),
    # Browsers ask for /favicon.ico on pages without an icon link (the admin's): send them to the SVG.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True)),
    path("", include("shop.urls")),
]

if settings.SERVE_MEDIA:
    media_prefix = settings.MEDIA_URL.strip("/")
    urlpatterns.append(re_path(rf"^{media_prefix}/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}))
