"""Root URL configuration: storefront, account, admin, API and operator endpoints."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from . import metrics, security_headers, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("csp-report/", security_headers.csp_report, name="csp-report"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/integrations/allegro/", include("integrations.channels.allegro.urls")),
    path("admin/", admin.site.urls),
    path("r/", include("recovery.urls")),
    path("api/", include("shop.api.urls")),
    path("feeds/", include("integrations.feeds.urls")),
    path("", include("integrations.marketing.urls")),
    path("", include("content.urls")),
    path("", include("orders.urls")),
    path("", include("catalog.urls")),
]

if settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    ]

handler404 = "shop.errors.not_found"
handler500 = "shop.errors.server_error"
