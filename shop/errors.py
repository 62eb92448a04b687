"""Friendly error pages that never need the database (a 500 may mean the database is down)."""

from django.conf import settings
from django.http import Http404, HttpResponseServerError
from django.shortcuts import render
from django.template import loader


def not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    return HttpResponseServerError(loader.render_to_string("errors/500.html"))


class NotFoundPageMiddleware:
    """The shop's own 404 page even with ``DEBUG`` on (``make run`` runs with it).

    With ``DEBUG`` Django answers a 404 with its technical page, which lists every URL pattern of
    the shop to whoever asks for an unknown address. Shoppers get ``errors/404.html`` instead; a
    developer who wants Django's page sets ``DEBUG_TECHNICAL_404=1`` (docs/configuration.md).
    Without ``DEBUG`` Django already uses ``handler404`` and this middleware does nothing. It sits
    at the end of ``MIDDLEWARE``: a 404 without a resolved URL it sees comes from URL resolution.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def active() -> bool:
        return settings.DEBUG and not settings.DEBUG_TECHNICAL_404

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 404 and request.resolver_match is None and self.active():
            return not_found(request)  # no URL pattern matched: the technical page lists them all
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, Http404) and self.active():
            return not_found(request, exception)
        return None
