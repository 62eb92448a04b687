"""Store and language selection for every request."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseNotFound
from django.template import loader
from django.utils import translation
from django.utils.cache import patch_vary_headers

from .stores import default_store, store_for_host

# Paths that work whatever the host: the operator's health check, the one admin for all stores,
# and static files.
STORELESS_PREFIXES = ("/healthz", "/readyz", "/metrics", "/admin/", "/static/", "/media/", "/i18n/")


class StoreMiddleware:
    """Set ``request.store`` from the Host header; unknown hosts get a clear 404 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        store = store_for_host(request.get_host())
        if store is None and not request.path.startswith(STORELESS_PREFIXES):
            body = loader.render_to_string(
                "errors/unknown_store.html", {"host": request.get_host()}, request=None
            )
            return HttpResponseNotFound(body)
        if store is None and request.path.startswith("/admin/"):
            store = default_store()
        request.store = store
        return self.get_response(request)


class StoreLocaleMiddleware:
    """Language: the shopper's choice (cookie from the language switch), else the store's default.

    We deliberately do not follow Accept-Language: a Polish shop shows Polish unless the shopper
    switches (see docs/decisions.md).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supported = {code for code, _ in settings.LANGUAGES}
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in supported:
            store = getattr(request, "store", None)
            language = store.default_language if store else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", language)
        return response
