"""/api/: the OpenAPI schema, its documentation, and version 1 of every app's resources.

Project-level wiring (like ``shop/urls.py``): it is the one place in ``shop`` that imports the
apps' ``api`` modules.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from . import views

app_name = "api"


def _v1():
    import catalog.api
    import orders.api
    import recovery.api
    import reports.api

    return [
        path("", views.ApiRootView.as_view(), name="root"),
        path("auth/token/", views.CustomerTokenView.as_view(), name="token"),
        path("auth/token/current/", views.CustomerTokenLogoutView.as_view(), name="token-current"),
        *catalog.api.urlpatterns(),
        *orders.api.urlpatterns(),
        *recovery.api.urlpatterns(),
        *reports.api.urlpatterns(),
    ]


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("v1/", include((_v1(), "v1"))),
    re_path(r"^.*$", views.not_found),
]
