"""Root URL configuration."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("shop.auth_urls")),
    path("api/v1/", include("emotion.urls")),
    path("api/v1/", include("recommender.urls")),
    path("api/v1/", include("insights.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include("shop.urls")),
]

if settings.SERVE_MEDIA:
    media_prefix = settings.MEDIA_URL.strip("/")
    urlpatterns.append(re_path(rf"^{media_prefix}/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}))
